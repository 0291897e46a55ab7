/**
 * Backend choice (VMAT_BACKEND / VMAT_THREADS), the start-up self-test and its fallbacks,
 * including injected broken op sets and tfjs-wasm's real conv3d gradient defect.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initEngine, resetEngine, referenceOps, type EnginePath, type EngineOps } from '../../lib/engine';
import { candidateOrder, resolveThreads, pathByName } from '../../lib/engine/paths';
import { loadNativeAddon } from '../../lib/engine/native_addon';

const addonPresent = loadNativeAddon().addon !== null;
const savedEnv = { backend: process.env.VMAT_BACKEND, threads: process.env.VMAT_THREADS };

afterEach(() => {
  resetEngine();
  for (const [k, v] of [
    ['VMAT_BACKEND', savedEnv.backend],
    ['VMAT_THREADS', savedEnv.threads],
  ] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

function installed(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

test('candidate order: auto, each explicit choice, and a bad value', async () => {
  assert.deepEqual(candidateOrder('auto'), ['tfjs-node-gpu', 'tfjs-node', 'native', 'cpu']);
  assert.deepEqual(candidateOrder('tfjs-node'), ['tfjs-node', 'native', 'cpu']);
  assert.deepEqual(candidateOrder('native'), ['native', 'cpu']);
  assert.deepEqual(candidateOrder('wasm'), ['wasm', 'cpu']);
  assert.deepEqual(candidateOrder('cpu'), ['cpu']);
  assert.throws(() => candidateOrder('cuda'), /VMAT_BACKEND: expected one of auto, .*found 'cuda'/);
  process.env.VMAT_BACKEND = 'cuda';
  await assert.rejects(initEngine({ quiet: true }), /VMAT_BACKEND: expected one of/);
});

test('threads: VMAT_THREADS wins, default = cores, bad values rejected', () => {
  assert.equal(resolveThreads(undefined, 6), 6);
  assert.equal(resolveThreads('', 2), 2);
  assert.equal(resolveThreads('3', 2), 3);
  assert.throws(() => resolveThreads('0', 2), /VMAT_THREADS/);
  assert.throws(() => resolveThreads('two', 2), /VMAT_THREADS/);
});

test('VMAT_BACKEND=cpu gives the reference ops on tfjs cpu, no self-test needed', async () => {
  process.env.VMAT_BACKEND = 'cpu';
  const info = await initEngine({ quiet: true });
  assert.equal(info.backend, 'cpu');
  assert.equal(info.opsPath, 'reference');
  assert.equal(info.selfTest, 'skipped');
  assert.equal(info.requested, 'cpu');
  assert.equal(info.versions.tfjs, tf.version.tfjs);
});

test('VMAT_BACKEND=native: native path with passed self-test (or a recorded fallback when the addon is absent)', async () => {
  process.env.VMAT_BACKEND = 'native';
  process.env.VMAT_THREADS = '1';
  const info = await initEngine({ quiet: true });
  if (addonPresent) {
    assert.equal(info.opsPath, 'native');
    assert.equal(info.selfTest, 'passed');
    assert.equal(info.threads, 1);
    assert.match(info.versions.onednn, /^\d+\.\d+/);
  } else {
    assert.equal(info.opsPath, 'reference');
    assert.match(info.fallbacks?.[0] ?? '', /^native: unavailable/);
  }
});

test(
  'auto: optional tfjs-node(-gpu) absent here are reported as unavailable and skipped',
  {
    skip:
      installed('@tensorflow/tfjs-node') || installed('@tensorflow/tfjs-node-gpu')
        ? 'tfjs-node installed on this machine'
        : false,
  },
  async () => {
    delete process.env.VMAT_BACKEND;
    const info = await initEngine({ quiet: true });
    assert.equal(info.requested, 'auto');
    assert.match(info.fallbacks?.[0] ?? '', /^tfjs-node-gpu: unavailable/);
    assert.match(info.fallbacks?.[1] ?? '', /^tfjs-node: unavailable \(@tensorflow\/tfjs-node is not installed/);
    assert.equal(info.opsPath, addonPresent ? 'native' : 'reference');
  },
);

function brokenPath(name: string, ops: EngineOps): EnginePath {
  return { name, prepare: async () => ({ ops, backend: 'cpu', threads: 1, versions: {} }) };
}

test('a native-like path rejected by the self-test leaves the stock cpu kernels in place', async () => {
  const { installFastCpuKernels, fastCpuKernelsInstalled } = await import('../../lib/engine/cpu_kernels');
  const wrong: EngineOps = {
    ...referenceOps,
    relu: (x) => tf.mul(x, 2) as typeof x,
    silu: (x) => tf.mul(x, 2) as typeof x,
  };
  const path: EnginePath = {
    name: 'fast-but-wrong',
    prepare: async () => {
      installFastCpuKernels();
      return { ops: { ...wrong, groupNormAct: undefined }, backend: 'cpu', threads: 1, versions: {} };
    },
  };
  const info = await initEngine({ quiet: true, paths: [path, pathByName('cpu')] });
  assert.match(info.fallbacks?.[0] ?? '', /^fast-but-wrong: self-test failed \(groupNorm\+silu forward/);
  assert.equal(fastCpuKernelsInstalled(), false);
});

test('self-test rejects an op set with a wrong forward conv and falls back', async () => {
  const wrongForward: EngineOps = {
    ...referenceOps,
    conv3d: (x, w, s) => tf.tidy(() => tf.mul(referenceOps.conv3d(x, w, s), 1.001)),
  };
  const info = await initEngine({ quiet: true, paths: [brokenPath('broken-fwd', wrongForward), pathByName('cpu')] });
  assert.equal(info.opsPath, 'reference');
  assert.match(info.fallbacks?.[0] ?? '', /^broken-fwd: self-test failed \(conv3d k3 s1 forward: relative error/);
});

test('self-test rejects a correct forward with a wrong gradient (like tfjs-wasm Conv3DBackpropInputV2)', async () => {
  const wrongGrad: EngineOps = {
    ...referenceOps,
    conv3d: (x, w, s = 1) =>
      tf.customGrad((a, b, save) => {
        (save as tf.GradSaveFunc)([a as tf.Tensor, b as tf.Tensor]);
        return {
          value: referenceOps.conv3d(a as tf.Tensor5D, b as tf.Tensor5D, s),
          // plausible-looking but wrong gradients (forward stays exact)
          gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
            tf.mul(tf.onesLike(saved[0]), tf.mean(dy)),
            tf.zerosLike(saved[1]),
          ],
        };
      })(x, w) as tf.Tensor5D,
  };
  const info = await initEngine({ quiet: true, paths: [brokenPath('broken-grad', wrongGrad), pathByName('cpu')] });
  assert.equal(info.opsPath, 'reference');
  assert.match(info.fallbacks?.[0] ?? '', /^broken-grad: self-test failed \(conv3d k3 s1 grad input 0/);
});

test('a path whose op throws, and a path that cannot be prepared, are skipped with the reason', async () => {
  const throwing: EngineOps = {
    ...referenceOps,
    groupNormAct: () => {
      throw new Error('boom');
    },
  };
  const unavailable: EnginePath = {
    name: 'nowhere',
    prepare: async () => {
      throw new Error('not here');
    },
  };
  const info = await initEngine({
    quiet: true,
    paths: [unavailable, brokenPath('throws', throwing), pathByName('cpu')],
  });
  assert.deepEqual(info.fallbacks, ['nowhere: unavailable (not here)', 'throws: self-test failed (threw: boom)']);
  assert.equal(info.opsPath, 'reference');
});

test('no usable path at all: initEngine rejects, listing what was tried', async () => {
  const unavailable: EnginePath = {
    name: 'nowhere',
    prepare: async () => {
      throw new Error('not here');
    },
  };
  await assert.rejects(
    initEngine({ quiet: true, paths: [unavailable] }),
    /no usable backend; tried:\n {2}nowhere: unavailable/,
  );
});

test(
  'VMAT_BACKEND=wasm: stock tfjs 4.22 wasm conv3d gradients are wrong, the self-test catches it',
  { skip: tf.version.tfjs !== '4.22.0' ? `defect documented for tfjs 4.22.0, found ${tf.version.tfjs}` : false },
  async () => {
    process.env.VMAT_BACKEND = 'wasm';
    const info = await initEngine({ quiet: true });
    assert.equal(info.backend, 'cpu');
    assert.equal(info.opsPath, 'reference');
    assert.match(info.fallbacks?.[0] ?? '', /^wasm: self-test failed \(conv3d .* grad input 0/);
  },
);
