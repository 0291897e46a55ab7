/**
 * Measures ms per training step (forward + backward + AdamW) and ms per forward pass of the
 * OpenKBP model at 64³ for a few widths, to choose the configuration that fits the time budget.
 * Usage: npx tsx scripts/openkbp/measure_step.ts [base ...]   (default bases 12 16 24)
 */
import { tf, initEngine, engineInfo } from '../../lib/engine';
import { createModel } from '../../lib/models';
import { AdamW, clipGradNorm } from '../../lib/train/adamw';
import { OPENKBP_IN_CHANNELS } from '../../lib/inputs/openkbp64';

async function main(): Promise<void> {
  await initEngine({ quiet: true });
  const bases = process.argv.slice(2).map(Number);
  const levelsList = [4];
  const S = 64;
  const out: unknown[] = [];
  for (const base of bases.length ? bases : [12, 16, 24]) {
    for (const levels of levelsList) {
      const model = createModel({ inChannels: OPENKBP_IN_CHANNELS, baseChannels: base, levels }, { seed: 1 });
      const opt = new AdamW([{ params: model.params, weightDecay: 1e-4 }]);
      const x = tf.randomUniform([1, S, S, S, OPENKBP_IN_CHANNELS]) as tf.Tensor5D;
      const y = tf.randomUniform([1, S, S, S, 1]) as tf.Tensor5D;
      const w = tf.randomUniform([1, S, S, S, 1]) as tf.Tensor5D;
      const c = tf.zeros([1, 13]) as tf.Tensor2D;
      const names = new Map<string, string>();
      for (const [k, v] of model.params) names.set(v.name, k);
      const times: number[] = [];
      for (let s = 0; s < 4; s++) {
        const t0 = performance.now();
        const { value, grads } = tf.variableGrads(
          () => tf.div(tf.sum(tf.mul(w, tf.abs(tf.sub(model.apply(x, c), y)))), tf.sum(w)) as tf.Scalar,
          [...model.params.values()],
        );
        const g = new Map<string, tf.Tensor>();
        for (const [vn, t] of Object.entries(grads)) g.set(names.get(vn) ?? vn, t);
        clipGradNorm(g, 1);
        opt.apply(g, 1e-4);
        value.dataSync();
        tf.dispose([value, ...g.values()]);
        if (s > 0) times.push(performance.now() - t0);
      }
      const f0 = performance.now();
      const p = tf.tidy(() => model.apply(x, c));
      p.dataSync();
      p.dispose();
      const fwd = performance.now() - f0;
      times.sort((a, b) => a - b);
      out.push({ base, levels, params: model.numParameters(), ms_per_step_median: times[1], ms_forward: fwd });
      console.log(JSON.stringify(out[out.length - 1]));
      tf.dispose([x, y, w, c]);
      opt.dispose();
      model.dispose();
    }
  }
  console.log(JSON.stringify({ engine: engineInfo(), results: out }));
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
