/** Learning-rate schedules of the training tasks (AdamW's cosine is in adamw.ts). */
import { cosineLr } from './adamw';

/**
 * Linear warm-up over the first `warmupSteps` steps, then cosine from `lr` to `etaMin` over
 * `totalSteps` (per step; the OpenKBP tasks).
 */
export function warmupCosineLr(
  step: number,
  o: { lr: number; etaMin: number; warmupSteps: number },
  totalSteps: number,
): number {
  const warm = o.warmupSteps > 0 ? Math.min(1, (step + 1) / o.warmupSteps) : 1;
  return warm * cosineLr(step, o.lr, totalSteps, o.etaMin);
}
