/**
 * Holm-Bonferroni step-down procedure (Holm 1979), the textbook version (as R p.adjust('holm') /
 * statsmodels multipletests('holm')): sort p ascending; adjusted p_(r) = max over j <= r of
 * min(1, (m - j) p_(j)) (0-based j), i.e. monotone; hypotheses are rejected in order until the
 * first p_(r) > alpha / (m - r), and none after it.
 *
 * The reference's `holm_bonferroni` (spec 8.1) differs: it takes min(p (m - r), 1) without the
 * running maximum and tests each p <= alpha / (m - r) independently (no stop at the first
 * non-rejection). `referenceVariant` reproduces that for comparison and flags where they differ.
 */
export interface HolmResult {
  /** adjusted p-values in input order */
  pAdjusted: number[];
  /** rejected at level alpha, input order */
  significant: boolean[];
}

/** standard step-down Holm-Bonferroni: monotone adjusted p-values and rejections at alpha */
export function holmBonferroni(p: readonly number[], alpha = 0.05): HolmResult {
  const m = p.length;
  p.forEach((v, i) => {
    if (!(v >= 0 && v <= 1)) throw new RangeError(`holm: p-value ${i} is ${v}, expected a number in [0, 1]`);
  });
  const order = p.map((_, i) => i).sort((a, b) => p[a] - p[b] || a - b);
  const pAdjusted = new Array<number>(m);
  const significant = new Array<boolean>(m).fill(false);
  let running = 0;
  let stillRejecting = true;
  order.forEach((idx, r) => {
    running = Math.max(running, Math.min(1, (m - r) * p[idx]));
    pAdjusted[idx] = running;
    if (stillRejecting && p[idx] <= alpha / (m - r)) significant[idx] = true;
    else stillRejecting = false;
  });
  return { pAdjusted, significant };
}

/** The reference project's variant (a known defect, spec 8.1): no running max, no stop. */
export function holmReferenceVariant(
  p: readonly number[],
  alpha = 0.05,
): HolmResult & { differsFromStandard: boolean[] } {
  const m = p.length;
  const order = p.map((_, i) => i).sort((a, b) => p[a] - p[b] || a - b);
  const pAdjusted = new Array<number>(m);
  const significant = new Array<boolean>(m);
  order.forEach((idx, r) => {
    pAdjusted[idx] = Math.min(p[idx] * (m - r), 1);
    significant[idx] = p[idx] <= alpha / (m - r);
  });
  const std = holmBonferroni(p, alpha);
  const differsFromStandard = p.map(
    (_, i) => std.significant[i] !== significant[i] || std.pAdjusted[i] !== pAdjusted[i],
  );
  return { pAdjusted, significant, differsFromStandard };
}
