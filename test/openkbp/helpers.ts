import { loadCheckpoint } from '../../lib/models/checkpoint';

/** the largest absolute difference between the weights of two checkpoint folders (same parameters) */
export function maxWeightDiff(dirA: string, dirB: string): number {
  const a = loadCheckpoint(dirA);
  const b = loadCheckpoint(dirB);
  let maxDiff = 0;
  try {
    for (const [k, v] of a.model.params) {
      const x = v.dataSync();
      const y = b.model.params.get(k)!.dataSync();
      for (let i = 0; i < x.length; i++) maxDiff = Math.max(maxDiff, Math.abs(x[i] - y[i]));
    }
  } finally {
    a.model.dispose();
    b.model.dispose();
  }
  return maxDiff;
}
