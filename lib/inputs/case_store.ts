/**
 * Prepared cases by id, loaded once and kept in memory up to a byte budget (least recently used
 * cases are dropped and re-read on demand). The reference re-opened and decompressed the whole
 * npz for every patch (spec 12.12); here a case is read once while it fits the budget.
 */
import { loadCase } from '../data/load';
import type { Case } from '../data/case';
import type { InputRecipe } from './recipe';
import { prepareCase, type PreparedCase } from './case_inputs';

function bytesOf(pc: PreparedCase): number {
  return pc.channels.reduce((s, c) => s + c.byteLength, 0) + (pc.dose?.byteLength ?? 0);
}

/** Prepared cases by id, loaded on demand and kept in memory up to `budgetBytes` (least recently used dropped first). */
export class CaseStore {
  private readonly cache = new Map<string, PreparedCase>();
  private bytes = 0;
  private readonly byId = new Map<string, string | Case>();

  /** `sources`: id → file path, or an in-memory Case (notebooks, tests) */
  constructor(
    sources: Map<string, string | Case>,
    readonly recipe: InputRecipe,
    readonly budgetBytes = 6 * 2 ** 30,
  ) {
    for (const [k, v] of sources) this.byId.set(k, v);
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  async get(id: string): Promise<PreparedCase> {
    const hit = this.cache.get(id);
    if (hit) {
      // refresh recency
      this.cache.delete(id);
      this.cache.set(id, hit);
      return hit;
    }
    const src = this.byId.get(id);
    if (src === undefined)
      throw new Error(
        `CaseStore.get: case '${id}' is not in the data set (the locked split only lists cases of the data folder)`,
      );
    const c = typeof src === 'string' ? await loadCase(src) : src;
    const pc = prepareCase(c, this.recipe);
    this.cache.set(id, pc);
    this.bytes += bytesOf(pc);
    while (this.bytes > this.budgetBytes && this.cache.size > 1) {
      const [oldId, old] = this.cache.entries().next().value as [string, PreparedCase];
      this.cache.delete(oldId);
      this.bytes -= bytesOf(old);
    }
    return pc;
  }
}
