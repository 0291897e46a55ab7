/**
 * The one predictor interface: a case in, its dose in Gy out (on the case's own grid). Every way
 * vmat-lab predicts — a trained prostate model by sliding window, an OpenKBP 64³ model resampled to
 * 128³, an ensemble, a cascade with a 128³ refiner, test-time augmentations, the non-learned
 * distance baseline — is a DosePredictor built from the pieces in lib/infer and described by a model
 * bundle's manifest (lib/infer/bundle.ts). Training validation and `vmat infer` / `vmat openkbp
 * predict` use the same predictors.
 */
import type { Case } from '../data/case';

export interface PredictOptions {
  /** progress inside one case (e.g. sliding-window patches done / total) */
  onProgress?: (done: number, total: number) => void;
}

export interface DosePredictor {
  /** evaluation JSON `model_type` (e.g. 'baseline_unet', 'distance_baseline') */
  readonly modelType: string;
  /** evaluation JSON `architecture` (e.g. 'baseline') */
  readonly architecture: string;
  /** dose in Gy on the case's grid, (Y, X, Z) C order, length = voxel count */
  predictGy(c: Case, o?: PredictOptions): Float32Array;
  /**
   * the intermediate stages of one prediction where the predictor has them (a cascade: its coarse
   * dose before the refiner), each in Gy on the case grid, with `final` = predictGy's result
   */
  predictStagesGy?(c: Case, o?: PredictOptions): { final: Float32Array; [stage: string]: Float32Array };
  /** the composition, e.g. "cascade(phase_shifted(resampled(ensemble[...])), mirrored(network))" */
  describe(): string;
  /** frees every network inside */
  dispose(): void;
}
