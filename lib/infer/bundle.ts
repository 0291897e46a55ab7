/**
 * Model bundles: one folder format for everything that predicts. A bundle is a folder with a
 * `manifest.json` (typed and validated on read) that says how its predictor is composed from the
 * pieces of lib/infer, and the checkpoint folders of its networks (lib/models/checkpoint.ts):
 *
 *   { "format": "vmat-model-bundle", "version": 1, "name": "...", "created": "...",
 *     "predictor": { "kind": "cascade",
 *                    "coarse": { "kind": "phase_shifted", "inner": { "kind": "resampled", "input": {...},
 *                                "net": { "kind": "ensemble", "members": [
 *                                  { "kind": "mirrored", "net": { "kind": "network", "checkpoint": "." } }, ...] } } },
 *                    "refiner": { "kind": "mirrored", "net": { "kind": "network", "checkpoint": "refiner",
 *                                 "residual_channel": 0 } }, "input": {...} } }
 *
 * Every training checkpoint (best and last) carries a manifest of its own, so a run's checkpoint
 * folder is a bundle. Folders from before bundles (a checkpoint's config.json with `input` — the
 * prostate trainer — or `meta.openkbp` with optional `members/` and `refiner/` — the OpenKBP
 * trainer and shipper) are read by `legacyManifest`, so old runs and the shipped model load as before.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { DataError } from '../core/errors';
import { writeJsonAtomic } from '../core/atomic';
import { loadCheckpoint, readCheckpointConfig } from '../models/checkpoint';
import { lrChannelPairs } from '../inputs/case_inputs';
import type { InputRecipe } from '../inputs/recipe';
import { OPENKBP_IN_CHANNELS, OPENKBP_LR_CHANNEL_PAIRS, type OpenKbpRecipe } from '../inputs/openkbp64';
import { REFINER_IN_CHANNELS, REFINER_LR_CHANNEL_PAIRS, type RefinerRecipe } from '../inputs/refiner128';
import { ensembleNet, mirroredNet, networkNet, type VolumeNet } from './volume_net';
import { slidingWindowPredictor } from './sliding_window';
import { resampledPredictor } from './resampled';
import { phaseShiftedPredictor } from './phase_shifted';
import { cascadePredictor } from './cascade';
import { distanceBaselinePredictor, readDistanceBaseline } from './distance_baseline';
import type { DosePredictor } from './predictor';

/** `format` of a bundle manifest. */
export const BUNDLE_FORMAT = 'vmat-model-bundle';
/** Manifest `version` this code writes and reads. */
export const BUNDLE_VERSION = 1;
/** File name of a bundle's manifest inside the model folder. */
export const MANIFEST_FILE = 'manifest.json';

/** the network side of a predictor */
export type NetSpec =
  | { kind: 'network'; checkpoint: string; residual_channel?: number }
  | { kind: 'mirrored'; net: NetSpec }
  | { kind: 'ensemble'; members: NetSpec[] };

/** a case-level predictor */
export type PredictorSpec =
  | {
      kind: 'sliding_window';
      net: NetSpec;
      input: InputRecipe;
      /** window edge (voxels) */
      patch_size: number;
      /** overlap of neighbouring windows (voxels) */
      overlap: number;
      /** upper clamp of the normalised dose */
      clamp_max?: number;
      /** windows per forward pass */
      batch_size?: number;
    }
  | { kind: 'resampled'; net: NetSpec; input: OpenKbpRecipe }
  | { kind: 'phase_shifted'; inner: PredictorSpec }
  | { kind: 'cascade'; coarse: PredictorSpec; refiner: NetSpec; input: RefinerRecipe }
  | { kind: 'distance_baseline'; table: string; input: InputRecipe };

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  version: number;
  /** e.g. 'openkbp-64-b16' or the run name */
  name: string;
  /** ISO time the bundle was written */
  created: string;
  predictor: PredictorSpec;
  /** free text for humans */
  description?: string;
  /** where it came from: run folders, training time, validation scores (informative) */
  provenance?: Record<string, unknown>;
}

const inputRecipeSchema = z.object({
  profile: z.string(),
  ct: z.literal('clip(HU,-1000,3000)/4000+0.5'),
  structures: z.array(z.string()),
  sdfClipMm: z.number().positive(),
  absentSdfValue: z.number(),
  constraintDim: z.number().int().positive(),
});
const openKbpRecipeSchema = z.looseObject({ profile: z.literal('openkbp-64') });
const refinerRecipeSchema = z.looseObject({ profile: z.literal('openkbp-refine-128') });

const netSchema: z.ZodType<NetSpec> = z.lazy(() =>
  z.discriminatedUnion('kind', [
    z.object({
      kind: z.literal('network'),
      checkpoint: z.string(),
      residual_channel: z.number().int().nonnegative().optional(),
    }),
    z.object({ kind: z.literal('mirrored'), net: netSchema }),
    z.object({ kind: z.literal('ensemble'), members: z.array(netSchema).min(1) }),
  ]),
);
const predictorSchema: z.ZodType<PredictorSpec> = z.lazy(() =>
  z.discriminatedUnion('kind', [
    z.object({
      kind: z.literal('sliding_window'),
      net: netSchema,
      input: inputRecipeSchema,
      patch_size: z.number().int().positive(),
      overlap: z.number().int().nonnegative(),
      clamp_max: z.number().positive().optional(),
      batch_size: z.number().int().positive().optional(),
    }),
    z.object({
      kind: z.literal('resampled'),
      net: netSchema,
      input: openKbpRecipeSchema as unknown as z.ZodType<OpenKbpRecipe>,
    }),
    z.object({ kind: z.literal('phase_shifted'), inner: predictorSchema }),
    z.object({
      kind: z.literal('cascade'),
      coarse: predictorSchema,
      refiner: netSchema,
      input: refinerRecipeSchema as unknown as z.ZodType<RefinerRecipe>,
    }),
    z.object({ kind: z.literal('distance_baseline'), table: z.string(), input: inputRecipeSchema }),
  ]),
);
const manifestSchema = z.object({
  format: z.literal(BUNDLE_FORMAT),
  version: z.literal(BUNDLE_VERSION),
  name: z.string(),
  created: z.string(),
  predictor: predictorSchema,
  description: z.string().optional(),
  provenance: z.record(z.string(), z.unknown()).optional(),
});

/** "predictor.coarse.net: expected ..." from the first zod issue */
function zodProblem(e: z.ZodError): { key: string; message: string } {
  const i = e.issues[0];
  return { key: i.path.length ? i.path.join('.') : '(top level)', message: i.message };
}

/** validates a parsed manifest; a problem is a DataError naming the file and the key */
export function parseManifest(value: unknown, file: string): BundleManifest {
  const r = manifestSchema.safeParse(value);
  if (!r.success) {
    const p = zodProblem(r.error);
    throw new DataError(file, p.key, 'a valid vmat-model-bundle manifest', p.message);
  }
  return r.data as BundleManifest;
}

/**
 * The manifest of a folder written before bundles existed (read-only compatibility): a prostate
 * checkpoint (config.json `input` recipe; sliding window at the training patch size, overlap
 * patch/2), or an OpenKBP model (config.json `meta.openkbp`; `members/<name>/` averaged at 64³;
 * `refiner/` as a cascade; `meta.predict_tta` mirrors every network, `meta.predict_phase_tta` adds
 * the block phases).
 */
export function legacyManifest(dir: string): BundleManifest {
  const cfg = readCheckpointConfig(dir);
  const meta = (cfg.meta ?? {}) as Record<string, unknown>;
  const name = path.basename(path.resolve(dir));
  const created = fs.statSync(path.join(dir, 'config.json')).mtime.toISOString();
  if (cfg.input) {
    const trained = Number(meta.patch_size);
    const patch = Number.isFinite(trained) && trained > 0 ? trained : 128;
    return {
      format: BUNDLE_FORMAT,
      version: BUNDLE_VERSION,
      name,
      created,
      predictor: {
        kind: 'sliding_window',
        net: { kind: 'network', checkpoint: '.' },
        input: cfg.input,
        patch_size: patch,
        overlap: Math.floor(patch / 2),
      },
      provenance: { legacy_layout: 'checkpoint config.json input recipe', meta },
    };
  }
  const recipe = meta.openkbp as OpenKbpRecipe | undefined;
  if (recipe && recipe.profile === 'openkbp-64') {
    const tta = meta.predict_tta === true;
    const wrap = (n: NetSpec): NetSpec => (tta ? { kind: 'mirrored', net: n } : n);
    const mdir = path.join(dir, 'members');
    const members = fs.existsSync(mdir)
      ? fs
          .readdirSync(mdir)
          .filter((n) => fs.existsSync(path.join(mdir, n, 'config.json')))
          .sort()
      : [];
    for (const m of members) {
      const mm = (readCheckpointConfig(path.join(mdir, m)).meta ?? {}) as Record<string, unknown>;
      // averaging only makes sense between models that see the same inputs at the same scale
      if (JSON.stringify(mm.openkbp) !== JSON.stringify(recipe))
        throw new DataError(
          path.join(mdir, m),
          'config.json meta.openkbp',
          JSON.stringify(recipe),
          JSON.stringify(mm.openkbp),
        );
    }
    const nets: NetSpec[] = [
      wrap({ kind: 'network', checkpoint: '.' }),
      ...members.map((m) => wrap({ kind: 'network', checkpoint: path.join('members', m) })),
    ];
    let predictor: PredictorSpec = {
      kind: 'resampled',
      net: nets.length > 1 ? { kind: 'ensemble', members: nets } : nets[0],
      input: recipe,
    };
    if (meta.predict_phase_tta === true) predictor = { kind: 'phase_shifted', inner: predictor };
    const rdir = path.join(dir, 'refiner');
    if (fs.existsSync(path.join(rdir, 'config.json'))) {
      const rc = readCheckpointConfig(rdir);
      const rr = (rc.meta as Record<string, unknown> | undefined)?.openkbp_refiner as RefinerRecipe | undefined;
      if (!rr)
        throw new DataError(
          rdir,
          'config.json meta.openkbp_refiner',
          'an OpenKBP refiner (from `vmat openkbp refine-train`)',
          'none',
        );
      predictor = {
        kind: 'cascade',
        coarse: predictor,
        refiner: wrap({ kind: 'network', checkpoint: 'refiner', residual_channel: 0 }),
        input: rr,
      };
    }
    return {
      format: BUNDLE_FORMAT,
      version: BUNDLE_VERSION,
      name,
      created,
      predictor,
      provenance: { legacy_layout: 'OpenKBP model folder (config.json meta.openkbp)', meta },
    };
  }
  if (meta.openkbp_refiner)
    throw new DataError(
      dir,
      'config.json meta',
      'a model that predicts a dose',
      'a 128³ refiner stage alone (use it through a cascade bundle)',
    );
  throw new DataError(
    path.join(dir, 'config.json'),
    'input / meta.openkbp',
    'a model folder with manifest.json or a trained checkpoint',
    'no input recipe',
  );
}

/** the folder's manifest: manifest.json when present, else the legacy layout's */
export function readManifest(dir: string): BundleManifest {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
    throw new DataError(dir, null, 'a model folder (a bundle or a training checkpoint)', 'no such folder');
  const file = path.join(dir, MANIFEST_FILE);
  if (fs.existsSync(file)) {
    let value: unknown;
    try {
      value = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      throw new DataError(file, null, 'JSON', (e as Error).message);
    }
    return parseManifest(value, file);
  }
  if (!fs.existsSync(path.join(dir, 'config.json')))
    throw new DataError(dir, MANIFEST_FILE, 'a model folder (manifest.json or a checkpoint config.json)', 'neither');
  return legacyManifest(dir);
}

/** writes `manifest.json` into `dir` (atomically) */
export async function writeManifest(dir: string, m: BundleManifest): Promise<void> {
  parseManifest(m, path.join(dir, MANIFEST_FILE));
  await writeJsonAtomic(path.join(dir, MANIFEST_FILE), m);
}

export interface PredictionOverrides {
  /** left-right TTA on every network (true), on none (false), or as the manifest says (undefined) */
  tta?: boolean;
  /** block-phase TTA of the resampled stage: add (true), remove (false), keep (undefined) */
  phaseTta?: boolean;
  /** sliding window settings */
  patchSize?: number;
  overlap?: number;
  batchSize?: number;
}

function setMirrored(n: NetSpec, on: boolean): NetSpec {
  if (n.kind === 'mirrored') return on ? { kind: 'mirrored', net: setMirrored(n.net, on) } : setMirrored(n.net, on);
  if (n.kind === 'ensemble') return { kind: 'ensemble', members: n.members.map((m) => setMirrored(m, on)) };
  return on ? { kind: 'mirrored', net: n } : n;
}

/** the manifest's predictor with the overrides applied */
export function applyOverrides(p: PredictorSpec, o: PredictionOverrides): PredictorSpec {
  const net = (n: NetSpec) => (o.tta === undefined ? n : setMirrored(n, o.tta));
  switch (p.kind) {
    case 'sliding_window':
      return {
        ...p,
        net: net(p.net),
        patch_size: o.patchSize ?? p.patch_size,
        overlap: o.overlap ?? (o.patchSize !== undefined ? Math.floor(o.patchSize / 2) : p.overlap),
        batch_size: o.batchSize ?? p.batch_size,
      };
    case 'resampled': {
      const r: PredictorSpec = { ...p, net: net(p.net) };
      return o.phaseTta ? { kind: 'phase_shifted', inner: r } : r;
    }
    case 'phase_shifted': {
      const inner = applyOverrides(p.inner, { ...o, phaseTta: undefined });
      return o.phaseTta === false ? inner : { kind: 'phase_shifted', inner };
    }
    case 'cascade':
      return { ...p, coarse: applyOverrides(p.coarse, o), refiner: net(p.refiner) };
    case 'distance_baseline':
      return p;
  }
}

/** whether any network of the spec is mirrored / the spec has block phases (for reports) */
export function predictorFeatures(p: PredictorSpec): { tta: boolean; phaseTta: boolean } {
  const mirrored = (n: NetSpec): boolean =>
    n.kind === 'mirrored' || (n.kind === 'ensemble' && n.members.some(mirrored));
  switch (p.kind) {
    case 'sliding_window':
    case 'resampled':
      return { tta: mirrored(p.net), phaseTta: false };
    case 'phase_shifted':
      return { ...predictorFeatures(p.inner), phaseTta: true };
    case 'cascade': {
      const c = predictorFeatures(p.coarse);
      return { tta: c.tta || mirrored(p.refiner), phaseTta: c.phaseTta };
    }
    case 'distance_baseline':
      return { tta: false, phaseTta: false };
  }
}

function buildNet(dir: string, n: NetSpec, pairs: ReadonlyArray<[number, number]>): VolumeNet {
  switch (n.kind) {
    case 'network': {
      const cdir = path.resolve(dir, n.checkpoint);
      const ck = loadCheckpoint(cdir);
      for (const v of ck.extraParams.values()) v.dispose();
      return networkNet(ck.model, { residualChannel: n.residual_channel, label: n.checkpoint });
    }
    case 'mirrored':
      return mirroredNet(buildNet(dir, n.net, pairs), pairs);
    case 'ensemble': {
      const built: VolumeNet[] = [];
      try {
        for (const m of n.members) built.push(buildNet(dir, m, pairs));
      } catch (e) {
        built.forEach((b) => b.dispose());
        throw e;
      }
      const channels = new Set(built.map((b) => b.inChannels));
      if (channels.size > 1) {
        built.forEach((b) => b.dispose());
        throw new DataError(
          dir,
          'predictor ensemble members',
          'networks with the same input channels',
          built.map((b) => `${b.describe()}: ${b.inChannels}`).join(', '),
        );
      }
      return ensembleNet(built);
    }
  }
}

function checkChannels(dir: string, net: VolumeNet, expected: number, what: string): void {
  if (net.inChannels !== expected) {
    net.dispose();
    throw new DataError(dir, 'model.inChannels', `${expected} (${what})`, String(net.inChannels));
  }
}

/** builds the DosePredictor a spec describes; checkpoint paths are relative to `dir` */
export function buildPredictor(dir: string, p: PredictorSpec): DosePredictor {
  switch (p.kind) {
    case 'sliding_window': {
      const pairs = lrChannelPairs(p.input.structures).map(([a, b]) => [a + 1, b + 1] as [number, number]);
      const net = buildNet(dir, p.net, pairs);
      checkChannels(dir, net, 1 + p.input.structures.length, `CT + ${p.input.structures.length} structures`);
      return slidingWindowPredictor(net, {
        recipe: p.input,
        patchSize: p.patch_size,
        overlap: p.overlap,
        clampMax: p.clamp_max,
        batchSize: p.batch_size,
      });
    }
    case 'resampled': {
      const net = buildNet(dir, p.net, OPENKBP_LR_CHANNEL_PAIRS);
      checkChannels(dir, net, p.input.channels?.length ?? OPENKBP_IN_CHANNELS, `OpenKBP 64³ channels`);
      return resampledPredictor(net);
    }
    case 'phase_shifted':
      return phaseShiftedPredictor(buildPredictor(dir, p.inner));
    case 'cascade': {
      const coarse = buildPredictor(dir, p.coarse);
      let refiner: VolumeNet;
      try {
        refiner = buildNet(dir, p.refiner, REFINER_LR_CHANNEL_PAIRS);
      } catch (e) {
        coarse.dispose();
        throw e;
      }
      checkChannels(dir, refiner, p.input.channels?.length ?? REFINER_IN_CHANNELS, 'OpenKBP refiner channels');
      return cascadePredictor(coarse, refiner);
    }
    case 'distance_baseline':
      return distanceBaselinePredictor(readDistanceBaseline(path.resolve(dir, p.table)), p.input);
  }
}

export interface LoadedBundle {
  dir: string;
  manifest: BundleManifest;
  /** the predictor spec after overrides */
  spec: PredictorSpec;
  predictor: DosePredictor;
}

/** loads a model folder (bundle or legacy checkpoint/model folder) as a ready DosePredictor */
export function loadBundle(dir: string, overrides: PredictionOverrides = {}): LoadedBundle {
  const manifest = readManifest(dir);
  const spec = applyOverrides(manifest.predictor, overrides);
  return { dir, manifest, spec, predictor: buildPredictor(dir, spec) };
}
