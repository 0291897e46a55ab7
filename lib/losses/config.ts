/**
 * The loss configuration of the training objective (spec 5) and every loss's options with the
 * reference defaults — plain data, no tensors, so the command line and option records load it
 * without the engine.
 */

/** the components in uncertainty-weighting order (spec 5.7) */
export const UW_COMPONENT_ORDER = ['base', 'gradient', 'dvh', 'structure', 'asymmetric'] as const;
export type LossComponent = (typeof UW_COMPONENT_ORDER)[number];

export interface DvhLossOptions {
  d95Weight: number;
  vxWeight: number;
  dmeanWeight: number;
  /** soft-quantile temperature (normalised dose) */
  d95Temperature: number;
  /** Vx sigmoid temperature (normalised dose) */
  vxTemperature: number;
  minVoxels: number;
  /** per-target multipliers of the D95 term (unlisted targets: 5) */
  targetWeights: Record<string, number>;
  /** OAR V70 limits (fraction) */
  vxLimits: Record<string, number>;
  /** absolute dose (Gy) of the Vx term */
  vxThresholdGy: number;
  dmeanStructures: string[];
}

/** Reference defaults of the DVH-aware loss, with the corrected soft-DVH temperatures (normalised dose). */
export const DVH_LOSS_DEFAULTS: DvhLossOptions = {
  d95Weight: 10,
  vxWeight: 2,
  dmeanWeight: 1,
  d95Temperature: 0.002,
  vxTemperature: 0.01,
  minVoxels: 100,
  targetWeights: { PTV70: 1, PTV56: 0.5, 'PTV50.4': 0.3 },
  vxLimits: { Rectum: 0.15, Bladder: 0.25 },
  vxThresholdGy: 70,
  dmeanStructures: ['Rectum', 'Bladder', 'Bowel'],
};

export interface StructureWeightedOptions {
  ptvWeight: number;
  oarBoundaryWeight: number;
  backgroundWeight: number;
  boundaryWidthMm: number;
  /** structures whose surface band is weighted; default: every non-target except Prostate (the reference's 5 OARs) */
  oarStructures?: string[];
}

/** Reference defaults of the structure-weighted loss (weights; boundary band width in mm). */
export const STRUCTURE_WEIGHTED_DEFAULTS: StructureWeightedOptions = {
  ptvWeight: 2.0,
  oarBoundaryWeight: 1.5,
  backgroundWeight: 0.5,
  boundaryWidthMm: 5.0,
};

export interface AsymmetricPtvOptions {
  underdoseWeight: number;
  overdoseWeight: number;
}

/** Reference defaults of the asymmetric PTV loss (underdose weighted 3×). */
export const ASYMMETRIC_PTV_DEFAULTS: AsymmetricPtvOptions = { underdoseWeight: 3.0, overdoseWeight: 1.0 };

export interface LossConfig {
  useGradientLoss: boolean;
  gradientLossWeight: number;
  useDvhLoss: boolean;
  dvhLossWeight: number;
  dvh: DvhLossOptions;
  useStructureWeighted: boolean;
  structureWeightedWeight: number;
  structure: StructureWeightedOptions;
  useAsymmetricPtv: boolean;
  asymmetricPtvWeight: number;
  asymmetric: AsymmetricPtvOptions;
  useUncertaintyWeighting: boolean;
}

/** The full loss configuration: reference defaults (every optional term off) overridden by `partial`. */
export function lossConfig(partial: Partial<LossConfig> = {}): LossConfig {
  return {
    useGradientLoss: false,
    gradientLossWeight: 0.1,
    useDvhLoss: false,
    dvhLossWeight: 0.5,
    dvh: { ...DVH_LOSS_DEFAULTS, ...(partial.dvh ?? {}) },
    useStructureWeighted: false,
    structureWeightedWeight: 1.0,
    structure: { ...STRUCTURE_WEIGHTED_DEFAULTS, ...(partial.structure ?? {}) },
    useAsymmetricPtv: false,
    asymmetricPtvWeight: 1.0,
    asymmetric: { ...ASYMMETRIC_PTV_DEFAULTS, ...(partial.asymmetric ?? {}) },
    useUncertaintyWeighting: false,
    ...partial,
  } as LossConfig;
}

/** the active components in uncertainty-weighting order */
export function activeComponents(cfg: LossConfig): LossComponent[] {
  const on: Record<LossComponent, boolean> = {
    base: true,
    gradient: cfg.useGradientLoss,
    dvh: cfg.useDvhLoss,
    structure: cfg.useStructureWeighted,
    asymmetric: cfg.useAsymmetricPtv,
  };
  return UW_COMPONENT_ORDER.filter((n) => on[n]);
}
