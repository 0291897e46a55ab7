/**
 * Live training curve for notebooks that train in the kernel: pass `onEpoch` to the trainer;
 * each call redraws one display entry (tslab newDisplay) with the training-curve figure.
 * Outside a notebook it prints one line per epoch.
 */
import { figureHtml } from '../plot/html';
import { trainingCurvesFigure } from '../plot/training_curves';
import type { TrainingHistory } from '../plot/training_history';
import { setupPlotly } from './display';

export interface EpochPoint {
  epoch: number;
  trainLoss?: number | null;
  valLoss?: number | null;
  valMae?: number | null;
  valGamma?: number | null;
}

export function liveTrainingCurve(title = 'Training (live)'): {
  onEpoch(p: EpochPoint): void;
  history: TrainingHistory;
} {
  const h: TrainingHistory = { epoch: [], trainLoss: [], valLoss: [], valMae: [], valGamma: [], columns: {} };
  let disp: { html(s: string): void } | null = null;
  if (process.env.VMAT_IN_NOTEBOOK === '1') {
    try {
      setupPlotly();
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      disp = (require('tslab') as { newDisplay(): { html(s: string): void } }).newDisplay();
    } catch {
      disp = null;
    }
  }
  return {
    history: h,
    onEpoch(p: EpochPoint) {
      h.epoch.push(p.epoch);
      h.trainLoss.push(p.trainLoss ?? null);
      h.valLoss.push(p.valLoss ?? null);
      h.valMae.push(p.valMae ?? null);
      h.valGamma.push(p.valGamma ?? null);
      if (disp) disp.html(figureHtml(trainingCurvesFigure(h, { title })));
      else
        process.stdout.write(
          `epoch ${p.epoch}: train ${p.trainLoss ?? '—'} val ${p.valLoss ?? '—'} MAE ${p.valMae ?? '—'}\n`,
        );
    },
  };
}
