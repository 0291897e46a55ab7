import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { tf, initEngine } from '../../lib/engine';
import { createModel, countParameters, modelConfig, groupsFor, parameterSpecs } from '../../lib/models';
import { modelFromTorchStateDict, type TorchArray } from '../../lib/models/torch_layout';
import { saveCheckpoint, loadCheckpoint } from '../../lib/models/checkpoint';

const FIX = path.join(__dirname, '..', 'fixtures', 'models');

test('parameter counts match the reference (spec 3.2)', () => {
  const cases: Array<[Parameters<typeof modelConfig>[0], number]> = [
    [{ architecture: 'baseline', inChannels: 9, baseChannels: 48 }, 23_732_801],
    [{ architecture: 'baseline', inChannels: 10, baseChannels: 48 }, 23_734_145],
    [{ architecture: 'baseline', inChannels: 9, baseChannels: 50 }, 25_711_677],
    [{ architecture: 'attention_unet', inChannels: 9, baseChannels: 48 }, 23_929_005],
    [{ architecture: 'bottleneck_attn', inChannels: 9, baseChannels: 48 }, 24_323_777],
    [{ architecture: 'bottleneck_attn', inChannels: 10, baseChannels: 48 }, 24_325_121],
    [{ architecture: 'baseline', inChannels: 9, baseChannels: 32 }, 10_761_345],
    [{ architecture: 'baseline', inChannels: 9, baseChannels: 64 }, 41_787_905],
  ];
  for (const [cfg, n] of cases) assert.equal(countParameters(modelConfig(cfg)), n, JSON.stringify(cfg));
});

test('built b=48, 9-channel model holds exactly 23,732,801 parameters with reference names', async () => {
  await initEngine({ quiet: true });
  const m = createModel({ inChannels: 9, baseChannels: 48 }, { seed: 1 });
  try {
    let total = 0;
    for (const v of m.params.values()) total += v.size;
    assert.equal(total, 23_732_801);
    assert.equal(m.numParameters(), 23_732_801);
    for (const name of ['constraint_mlp.0.weight', 'constraint_mlp.2.bias', 'enc1.conv1.weight', 'enc1.cond_mlp.1.weight', 'enc1.residual.weight', 'bottleneck.norm2.bias', 'dec1.conv2.weight', 'out_conv.weight']) {
      assert.ok(m.params.has(name), name);
    }
    assert.ok(!m.params.has('bottleneck.residual.weight'), 'bottleneck 384->384 has an identity residual');
    assert.deepEqual(m.params.get('enc1.conv1.weight')!.shape, [3, 3, 3, 9, 48]);
    assert.deepEqual(m.params.get('dec4.conv1.weight')!.shape, [3, 3, 3, 768, 192]);
  } finally {
    m.dispose();
  }
});

test('GroupNorm groups = largest divisor <= 8 (b=50 gives 5, 5, 8, 8)', () => {
  assert.deepEqual([50, 100, 200, 400].map(groupsFor), [5, 5, 8, 8]);
  assert.deepEqual([48, 96, 192, 384].map(groupsFor), [8, 8, 8, 8]);
  assert.equal(groupsFor(7), 7);
  assert.equal(groupsFor(11), 1);
});

test('forward pass equals the PyTorch peer for all three architectures', async () => {
  await initEngine({ quiet: true });
  const peer = JSON.parse(fs.readFileSync(path.join(FIX, 'unet_peer.json'), 'utf8')) as {
    cases: Record<string, { config: Record<string, unknown>; state_dict: Record<string, TorchArray>; x: TorchArray; constraints: TorchArray; y: TorchArray; num_parameters: number }>;
  };
  for (const [arch, c] of Object.entries(peer.cases)) {
    const model = modelFromTorchStateDict(c.config, c.state_dict);
    assert.equal(model.numParameters(), c.num_parameters, `${arch} parameter count`);
    const [b, ch, d, h, w] = c.x.shape;
    const y = tf.tidy(() => {
      const x = tf.tensor(Float32Array.from(c.x.data), [b, ch, d, h, w]).transpose([0, 2, 3, 4, 1]) as tf.Tensor5D;
      const con = tf.tensor2d(Float32Array.from(c.constraints.data), [b, 13]);
      return model.apply(x, con).transpose([0, 4, 1, 2, 3]);
    });
    const got = y.dataSync();
    y.dispose();
    let maxErr = 0;
    let maxRef = 0;
    for (let i = 0; i < got.length; i++) {
      maxErr = Math.max(maxErr, Math.abs(got[i] - c.y.data[i]));
      maxRef = Math.max(maxRef, Math.abs(c.y.data[i]));
    }
    assert.equal(got.length, c.y.data.length);
    assert.ok(maxErr < 1e-4 * Math.max(1, maxRef), `${arch}: max |tfjs - torch| = ${maxErr}`);
    model.dispose();
  }
});

test('FiLM conditions the output and shapes follow the input (tiny config)', async () => {
  await initEngine({ quiet: true });
  const m = createModel({ inChannels: 3, baseChannels: 4, levels: 3 }, { seed: 3 });
  const [y1, y2] = tf.tidy(() => {
    const x = tf.randomUniform([1, 8, 8, 4, 3], 0, 1, 'float32', 7) as tf.Tensor5D;
    const c1 = tf.zeros([1, 13]) as tf.Tensor2D;
    const c2 = tf.ones([1, 13]) as tf.Tensor2D;
    return [m.apply(x, c1), m.apply(x, c2)];
  });
  assert.deepEqual(y1.shape, [1, 8, 8, 4, 1]);
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(y1, y2))).dataSync()[0]);
  assert.ok(d > 1e-4, `constraints changed the output by only ${d}`);
  assert.throws(() => tf.tidy(() => m.apply(tf.zeros([1, 6, 8, 4, 3]) as tf.Tensor5D, tf.zeros([1, 13]) as tf.Tensor2D)), /divisible by 4/);
  tf.dispose([y1, y2]);
  m.dispose();
});

test('same seed gives identical weights; different seeds differ', () => {
  const a = createModel({ inChannels: 2, baseChannels: 4, levels: 2 }, { seed: 5 });
  const b = createModel({ inChannels: 2, baseChannels: 4, levels: 2 }, { seed: 5 });
  const c = createModel({ inChannels: 2, baseChannels: 4, levels: 2 }, { seed: 6 });
  const w = (m: typeof a) => Array.from(m.params.get('enc1.conv1.weight')!.dataSync());
  assert.deepEqual(w(a), w(b));
  assert.notDeepEqual(w(a), w(c));
  // PyTorch default init bound 1/sqrt(fan_in)
  const bound = 1 / Math.sqrt(2 * 27);
  assert.ok(w(a).every((v) => Math.abs(v) <= bound));
  assert.ok(Math.max(...w(a).map(Math.abs)) > 0.8 * bound);
  [a, b, c].forEach((m) => m.dispose());
});

test('checkpoint round trip restores weights, extra params, optimizer and state', async () => {
  await initEngine({ quiet: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-ckpt-'));
  const m = createModel({ architecture: 'attention_unet', inChannels: 3, baseChannels: 4, levels: 3 }, { seed: 9 });
  const sig = new Map([['uncertainty_loss.log_sigmas.base', tf.variable(tf.scalar(-1.25))]]);
  const names = parameterSpecs(m.config).map((s) => s.name);
  const mm = new Map([[names[0], new Float32Array(m.params.get(names[0])!.size).fill(0.5)]]);
  const vv = new Map([[names[0], new Float32Array(m.params.get(names[0])!.size).fill(0.25)]]);
  const recipe = { profile: 'test', ct: 'clip(HU,-1000,3000)/4000+0.5' as const, structures: ['A', 'B'], sdfClipMm: 50, absentSdfValue: 0, constraintDim: 13 };
  await saveCheckpoint(path.join(dir, 'ck'), { model: m, input: recipe, extraParams: sig, optimizer: { step: 7, m: mm, v: vv }, state: { epoch: 3, rng: { c: 1, s0: 0.1, s1: 0.2, s2: 0.3 } } });
  const l = loadCheckpoint(path.join(dir, 'ck'));
  assert.equal(l.config.className, 'AttentionUNet3D');
  assert.deepEqual(l.config.input, recipe);
  for (const [k, v] of m.params) assert.deepEqual(Array.from(l.model.params.get(k)!.dataSync()), Array.from(v.dataSync()), k);
  assert.equal(l.extraParams.get('uncertainty_loss.log_sigmas.base')!.dataSync()[0], -1.25);
  assert.equal(l.optimizer!.step, 7);
  assert.deepEqual(Array.from(l.optimizer!.m.get(names[0])!), Array.from(mm.get(names[0])!));
  assert.deepEqual(Array.from(l.optimizer!.v.get(names[0])!), Array.from(vv.get(names[0])!));
  assert.equal(l.state!.epoch, 3);
  // overwriting a checkpoint replaces it atomically and leaves no temporary folders
  await saveCheckpoint(path.join(dir, 'ck'), { model: m, input: recipe });
  assert.deepEqual(fs.readdirSync(dir), ['ck']);
  assert.ok(!fs.existsSync(path.join(dir, 'ck', 'optimizer.json')));
  m.dispose();
  l.model.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});
