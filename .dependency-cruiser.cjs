/**
 * The layer rules of lib/ (docs/architecture.md), checked in the test suite (test/repo/style.test.ts):
 * a module may import only from its own layer or the layers below it, and there are no cycles.
 *   0 core        errors, random numbers, progress, atomic I/O, environment, shared types
 *   1 transforms  distance transforms, SDFs
 *   2 data        the Case type, npy/npz/pickle, readers and writers, split
 *   3 inputs      network inputs from a case: channels, recipes, patches, augmentation, caching
 *   3 stats       statistics (pure numerics)
 *   3 engine      tensors, backends, native kernels
 *   4 models      networks, checkpoints, bundles
 *   5 losses eval training losses; dose metrics, DVH, gamma, clinical checks
 *   6 infer plot  the predictors (one inferer for validation and prediction); figure specs
 *   7 train       the training engine (validates through infer)
 *   8 workflows   synth, prostate, openkbp, dicom, study
 *   9 faces       cli, notebook
 */
const layers = [
  ['core'],
  ['transforms'],
  ['data'],
  ['stats', 'engine', 'inputs'],
  ['models'],
  ['losses', 'eval'],
  ['infer', 'plot'],
  ['train'],
  ['synth', 'prostate', 'openkbp', 'dicom', 'study'],
  ['cli', 'notebook'],
];
const folder = (names) => `^lib/(${names.join('|')})/`;
const forbidden = [
  {
    name: 'no-circular',
    severity: 'error',
    comment: 'no import cycles at all',
    from: {},
    to: { circular: true },
  },
  {
    name: 'lib-not-outside',
    severity: 'error',
    comment: 'lib/ is the product: it never imports tests, scripts or benchmarks',
    from: { path: '^lib/' },
    to: { path: '^(test|scripts|bench)/' },
  },
];
layers.forEach((names, i) => {
  const higher = layers.slice(i + 1).flat();
  if (!higher.length) return;
  forbidden.push({
    name: `layer-${i}-${names.join('-')}`,
    severity: 'error',
    comment: `${names.join(', ')} may not import from a higher layer (${higher.join(', ')})`,
    from: { path: folder(names) },
    to: { path: folder(higher) },
  });
});
// folders of one layer that must not know each other
forbidden.push({
  name: 'layer-3-independent',
  severity: 'error',
  comment: 'stats, engine and inputs do not know each other',
  from: { path: '^lib/(engine|stats|inputs)/' },
  to: { path: '^lib/(engine|stats|inputs)/', pathNot: '^lib/$1/' },
});

module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(node_modules|native/build)' },
  },
};
