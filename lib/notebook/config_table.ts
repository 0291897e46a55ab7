/**
 * The training configuration of a run as table rows: every value of training_config.json's
 * `hparams`, `training` and `data` sections, nested objects flattened to dot paths
 * (`asymmetric.underdoseWeight`), each with its unit. Nothing is dropped: arrays are listed,
 * objects are expanded. The environment, split lists and command are shown by their own tables.
 */

export interface ConfigRow {
  /** dot path inside its section, e.g. 'asymmetric.underdoseWeight' */
  key: string;
  /** 'hparams' | 'training' | 'data' | … */
  section: string;
  value: string;
  unit: string;
}

type Obj = Record<string, unknown>;

/** units of the recorded keys (last path component, or full path when ambiguous) */
const UNITS: Record<string, string> = {
  learning_rate: 'AdamW step size',
  eta_min: 'cosine schedule floor',
  weight_decay: 'AdamW decoupled',
  gradient_clip_norm: 'L2 norm',
  base_channels: 'channels',
  in_channels: 'channels',
  out_channels: 'channels',
  levels: 'resolution levels',
  constraint_dim: 'values',
  epochs: 'epochs',
  max_minutes: 'min',
  batch_size: 'patches / step',
  patch_size: 'voxels (cube edge)',
  patches_per_volume: 'patches / case / epoch',
  val_every: 'epochs',
  patience: 'validations',
  val_overlap: 'voxels',
  val_gamma_subsample: 'voxel stride',
  gradientLossWeight: '× loss',
  dvhLossWeight: '× loss',
  structureWeightedWeight: '× loss',
  asymmetricPtvWeight: '× loss',
  'asymmetric.underdoseWeight': '× squared error (pred < GT)',
  'asymmetric.overdoseWeight': '× squared error (pred > GT)',
  'dvh.d95Weight': '× term',
  'dvh.vxWeight': '× term',
  'dvh.dmeanWeight': '× term',
  'dvh.d95Temperature': 'normalised dose',
  'dvh.vxTemperature': 'normalised dose',
  'dvh.minVoxels': 'voxels',
  'dvh.vxThresholdGy': 'Gy',
  'structure.ptvWeight': '× voxel weight',
  'structure.oarBoundaryWeight': '× voxel weight',
  'structure.backgroundWeight': '× voxel weight',
  'structure.boundaryWidthMm': 'mm',
  n_cases: 'cases',
  sdfClipMm: 'mm',
  sdf_clip_mm: 'mm',
  spacing_mm: 'mm',
  rx_dose_gy: 'Gy',
};

function unitOf(key: string): string {
  if (key in UNITS) return UNITS[key];
  const last = key.split('.').pop() ?? key;
  if (last in UNITS) return UNITS[last];
  if (/^dvh\.vxLimits\./.test(key)) return 'fraction of volume';
  if (/^dvh\.targetWeights\./.test(key)) return '× target term';
  if (/_mm$|Mm$/.test(last)) return 'mm';
  if (/_gy$|Gy$/.test(last)) return 'Gy';
  return '';
}

function scalarText(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(+v.toPrecision(6));
  return String(v);
}

/** flatten one value into rows (objects expanded, arrays of scalars joined, arrays of objects indexed) */
function flatten(section: string, prefix: string, v: unknown, out: ConfigRow[]): void {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const entries = Object.entries(v as Obj);
    if (!entries.length) out.push({ section, key: prefix, value: '{}', unit: '' });
    for (const [k, x] of entries) flatten(section, prefix ? `${prefix}.${k}` : k, x, out);
    return;
  }
  if (Array.isArray(v)) {
    if (v.every((x) => x === null || typeof x !== 'object'))
      out.push({
        section,
        key: prefix,
        value: v.length ? v.map(scalarText).join(', ') : '(none)',
        unit: unitOf(prefix),
      });
    else v.forEach((x, i) => flatten(section, `${prefix}[${i}]`, x, out));
    return;
  }
  out.push({ section, key: prefix, value: scalarText(v), unit: unitOf(prefix) });
}

/**
 * Every configuration value of a training_config.json as rows, in the order hparams, training,
 * data (then any other section except environment, split, command and resumes).
 */
export function configRows(config: Obj, sections?: string[]): ConfigRow[] {
  const skip = new Set(['environment', 'split', 'command', 'resumes']);
  const order = sections ?? [
    'hparams',
    'training',
    'data',
    ...Object.keys(config).filter(
      (k) =>
        !['hparams', 'training', 'data'].includes(k) &&
        !skip.has(k) &&
        config[k] !== null &&
        typeof config[k] === 'object' &&
        !Array.isArray(config[k]),
    ),
  ];
  const out: ConfigRow[] = [];
  for (const s of order) if (config[s] !== undefined) flatten(s, '', config[s], out);
  // top-level scalars (model, version, architecture, model_params, timestamp…)
  if (!sections)
    for (const [k, v] of Object.entries(config))
      if (!skip.has(k) && (v === null || typeof v !== 'object'))
        out.push({ section: 'run', key: k, value: scalarText(v), unit: k === 'model_params' ? 'parameters' : '' });
  return out;
}

/** the value of a dot path in a configuration section (or undefined) */
export function configAt(config: Obj, dotPath: string): unknown {
  let cur: unknown = config;
  for (const k of dotPath.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Obj)[k];
  }
  return cur;
}

/** the loss terms of a run: name, enabled, weight, purpose (the asymmetric report's loss configuration table) */
export function lossTerms(config: Obj): Array<{ loss: string; enabled: boolean; weight: string; purpose: string }> {
  const hp = (config.hparams ?? {}) as Obj;
  const uw = hp.useUncertaintyWeighting === true;
  const w = (on: unknown, v: unknown) => (uw && on ? 'learned (uncertainty weighting)' : scalarText(v));
  return [
    {
      loss: 'MSE (normalised dose)',
      enabled: true,
      weight: uw ? 'learned (uncertainty weighting)' : '1',
      purpose: 'overall dose accuracy',
    },
    { loss: 'Negative-dose penalty', enabled: true, weight: '0.1', purpose: 'prevent negative doses' },
    {
      loss: 'Gradient (3-D Sobel)',
      enabled: hp.useGradientLoss === true,
      weight: w(hp.useGradientLoss, hp.gradientLossWeight),
      purpose: 'edge preservation',
    },
    {
      loss: 'DVH-aware (D95, V70, Dmean)',
      enabled: hp.useDvhLoss === true,
      weight: w(hp.useDvhLoss, hp.dvhLossWeight),
      purpose: 'clinical DVH points',
    },
    {
      loss: 'Structure-weighted MSE',
      enabled: hp.useStructureWeighted === true,
      weight: w(hp.useStructureWeighted, hp.structureWeightedWeight),
      purpose: 'weight targets and OAR boundaries',
    },
    {
      loss: 'Asymmetric PTV',
      enabled: hp.useAsymmetricPtv === true,
      weight: w(hp.useAsymmetricPtv, hp.asymmetricPtvWeight),
      purpose: 'penalise PTV under-dose more than over-dose',
    },
  ];
}
