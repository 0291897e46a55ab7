/**
 * Per-epoch training history from a run's metrics.csv. Accepts the reference Lightning layout
 * (one row per logging event, `epoch` and `step` columns, metric names such as
 * `train/loss_epoch`, `val/loss`, `val/mae_gy`, `val/gamma_3mm3pct` — spec 4.6) and flat
 * one-row-per-epoch files with underscore names (`train_loss`, `val_mae_gy`, …). Rows of the
 * same epoch are merged; the last non-empty value of a column wins.
 */
import { DataError } from '../core/errors';

export interface TrainingHistory {
  epoch: number[];
  trainLoss: Array<number | null>;
  valLoss: Array<number | null>;
  valMae: Array<number | null>;
  valGamma: Array<number | null>;
  /** PTV-region 3%/3 mm gamma pass rate at validation (%), when logged */
  valGammaPtv: Array<number | null>;
  /** every numeric column by name, aligned with `epoch` */
  columns: Record<string, Array<number | null>>;
}

const ALIASES: Record<'trainLoss' | 'valLoss' | 'valMae' | 'valGamma' | 'valGammaPtv', string[]> = {
  trainLoss: ['train/loss_epoch', 'train_loss_epoch', 'train_loss', 'train/loss', 'loss'],
  valLoss: ['val/loss', 'val_loss'],
  valMae: ['val/mae_gy', 'val_mae_gy', 'val_mae'],
  valGamma: ['val/gamma_3mm3pct', 'val_gamma_3mm3pct', 'val_gamma'],
  valGammaPtv: ['val/gamma_ptv_3mm3pct', 'val_gamma_ptv'],
};

/** The per-epoch history of a metrics.csv text (Lightning or flat layout; rows of one epoch merged); DataError naming `file` when empty or without `epoch`. */
export function parseMetricsCsv(text: string, file = 'metrics.csv'): TrainingHistory {
  const lines = text.split(/\r?\n/).filter((l) => l.trim().length > 0);
  if (lines.length === 0) throw new DataError(file, null, 'a header row and one row per logged epoch', 'an empty file');
  const header = lines[0].split(',').map((h) => h.trim());
  const epochCol = header.indexOf('epoch');
  if (epochCol < 0)
    throw new DataError(file, 'epoch', "an 'epoch' column", `no 'epoch' column (columns: ${header.join(', ')})`);
  const byEpoch = new Map<number, Map<string, number>>();
  for (const line of lines.slice(1)) {
    const cells = line.split(',');
    const e = Number(cells[epochCol]);
    if (!Number.isFinite(e)) continue;
    let row = byEpoch.get(e);
    if (!row) byEpoch.set(e, (row = new Map()));
    header.forEach((h, i) => {
      const s = (cells[i] ?? '').trim();
      if (s === '' || h === 'epoch') return;
      const v = Number(s);
      if (Number.isFinite(v)) row!.set(h, v);
    });
  }
  return historyFromMap(
    byEpoch,
    header.filter((h) => h !== 'epoch'),
  );
}

function historyFromMap(byEpoch: Map<number, Map<string, number>>, names: string[]): TrainingHistory {
  const epochs = [...byEpoch.keys()].sort((a, b) => a - b);
  const columns: Record<string, Array<number | null>> = {};
  for (const h of names) columns[h] = epochs.map((e) => byEpoch.get(e)!.get(h) ?? null);
  const pick = (cands: string[]) => {
    const found = cands.find((n) => n in columns && columns[n].some((v) => v !== null));
    return found ? columns[found] : epochs.map(() => null);
  };
  return {
    epoch: epochs,
    trainLoss: pick(ALIASES.trainLoss),
    valLoss: pick(ALIASES.valLoss),
    valMae: pick(ALIASES.valMae),
    valGamma: pick(ALIASES.valGamma),
    valGammaPtv: pick(ALIASES.valGammaPtv),
    columns,
  };
}

/**
 * The history of per-epoch rows as the training engine reports them (`onEpoch`; keys = the
 * metrics.csv column names, null = not computed at that epoch).
 */
export function historyFromRows(
  rows: ReadonlyArray<{ epoch: number } & Record<string, number | null | undefined>>,
): TrainingHistory {
  const byEpoch = new Map<number, Map<string, number>>();
  const names: string[] = [];
  for (const r of rows) {
    let m = byEpoch.get(r.epoch);
    if (!m) byEpoch.set(r.epoch, (m = new Map()));
    for (const [k, v] of Object.entries(r)) {
      if (k === 'epoch') continue;
      if (!names.includes(k)) names.push(k);
      if (typeof v === 'number' && Number.isFinite(v)) m.set(k, v);
    }
  }
  return historyFromMap(byEpoch, names);
}

/** index of the smallest non-null value (first on ties), or -1 */
export function argminDefined(v: Array<number | null>): number {
  let best = -1;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (x !== null && (best < 0 || x < (v[best] as number))) best = i;
  }
  return best;
}

/** last non-null value, or null */
export function lastDefined(v: Array<number | null>): number | null {
  for (let i = v.length - 1; i >= 0; i--) if (v[i] !== null) return v[i];
  return null;
}
