/**
 * Live training curve for notebooks that train in the kernel: pass `live.onEpoch` as the trainer's
 * `onEpoch`. It consumes the engine's `EpochRow` (keys = the metrics.csv column names), so a
 * change of the row type is a compile error here, not a silently empty plot. Each call redraws one
 * display entry (tslab newDisplay) with the training-curve figure; outside a notebook it prints one
 * line per epoch.
 */
import type { EpochRow } from '../train';
import { figureHtml } from '../plot/html';
import { trainingCurvesFigure } from '../plot/training_curves';
import { historyFromRows, type TrainingHistory } from '../plot/training_history';
import { setupPlotly } from './display';

export interface LiveTrainingCurve {
  /** the trainer's onEpoch callback */
  onEpoch(row: EpochRow, history?: readonly EpochRow[]): void;
  /** the rows received so far */
  rows: EpochRow[];
  /** the history as plotted (rebuilt from `rows` after each epoch) */
  history(): TrainingHistory;
}

function num(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toPrecision(4);
}

/** A live training-curve display fed by the engine's `onEpoch` rows (one line per epoch outside a notebook). */
export function liveTrainingCurve(title = 'Training (live)'): LiveTrainingCurve {
  const rows: EpochRow[] = [];
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
    rows,
    history: () => historyFromRows(rows),
    onEpoch(row: EpochRow) {
      rows.push({ ...row });
      if (disp) disp.html(figureHtml(trainingCurvesFigure(historyFromRows(rows), { title })));
      else
        process.stdout.write(
          `epoch ${row.epoch + 1}: train loss ${num(row.train_loss)}, val loss ${num(row.val_loss)}, val MAE ${num(row.val_mae_gy)} Gy, val gamma ${num(row.val_gamma)} %\n`,
        );
    },
  };
}
