/**
 * The exact command that reproduces a training run, from its training_config.json.
 *
 * The training engine records `command: { argv, text }` (every effective flag). Older run folders
 * have no such record: their command is reconstructed from the recorded hyper-parameters (every
 * flag of `vmat train`, defaults included, so a change of defaults cannot change the meaning).
 * In both cases the path arguments are rewritten to the folders the notebook knows (the data
 * folder recorded in the configuration, the runs folder that holds the run), relative to the
 * notebook's working directory (the project root), so the printed command runs from there.
 *
 * Also: the inference command of a run, and the commands that produce missing seeds of an
 * experiment (`<experiment>_seed<N>`, the naming of scripts/main.sh).
 */
import * as path from 'node:path';

export interface ReproducedCommand {
  /** arguments after `vmat` (starting with 'train') */
  argv: string[];
  /** `node bin/vmat.js train …`, shell-quoted, runnable from the project root */
  text: string;
  /** 'recorded' = from training_config.json `command`; 'reconstructed' = from the hyper-parameters */
  source: 'recorded' | 'reconstructed';
}

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {};
}

/** POSIX shell quoting of one argument (only when needed) */
export function shellQuote(a: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** a path as the notebook should print it: relative to cwd when inside it, else absolute */
export function displayPath(p: string, cwd = process.cwd()): string {
  const abs = path.resolve(cwd, p);
  const rel = path.relative(cwd, abs);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : rel === '' ? '.' : abs;
}

/** the `vmat train` arguments (after 'train') reconstructed from the recorded hyper-parameters */
export function reconstructTrainArgs(config: Obj, expName: string, runsDir: string): string[] {
  const hp = obj(config.hparams);
  const tr = obj(config.training);
  const data = obj(config.data);
  const dvh = obj(hp.dvh);
  const st = obj(hp.structure);
  const asym = obj(hp.asymmetric);
  const a: string[] = ['train'];
  const flag = (name: string, v: unknown) => {
    if (v === undefined || v === null) return;
    a.push(`--${name}`, String(v));
  };
  const sw = (name: string, v: unknown) => {
    if (v === true) a.push(`--${name}`);
  };
  flag('data-dir', data.data_dir);
  flag('exp-name', expName);
  flag('runs-dir', runsDir);
  flag('epochs', tr.epochs);
  flag('batch-size', tr.batch_size);
  flag('patch-size', tr.patch_size);
  flag('patches-per-volume', tr.patches_per_volume);
  flag('lr', hp.learning_rate);
  flag('weight-decay', hp.weight_decay);
  flag('base-channels', hp.base_channels);
  flag('levels', hp.levels);
  flag('architecture', hp.architecture ?? config.architecture);
  flag('seed', tr.seed);
  flag('split-seed', tr.split_seed);
  flag('val-every', tr.val_every);
  flag('patience', tr.patience);
  flag('monitor', tr.monitor);
  if (tr.augmentation === false) a.push('--no-augmentation');
  flag('val-overlap', tr.val_overlap);
  sw('val-gamma', tr.val_gamma);
  flag('val-gamma-subsample', tr.val_gamma_subsample);
  sw('use-gradient-loss', hp.useGradientLoss);
  flag('gradient-loss-weight', hp.gradientLossWeight);
  sw('use-dvh-loss', hp.useDvhLoss);
  flag('dvh-loss-weight', hp.dvhLossWeight);
  flag('dvh-d95-weight', dvh.d95Weight);
  flag('dvh-vx-weight', dvh.vxWeight);
  flag('dvh-dmean-weight', dvh.dmeanWeight);
  flag('dvh-temperature', dvh.d95Temperature);
  flag('dvh-vx-temperature', dvh.vxTemperature);
  sw('use-structure-weighted', hp.useStructureWeighted);
  flag('structure-weighted-weight', hp.structureWeightedWeight);
  flag('structure-ptv-weight', st.ptvWeight);
  flag('structure-oar-boundary-weight', st.oarBoundaryWeight);
  flag('structure-background-weight', st.backgroundWeight);
  flag('structure-boundary-width-mm', st.boundaryWidthMm);
  sw('use-asymmetric-ptv', hp.useAsymmetricPtv);
  flag('asymmetric-ptv-weight', hp.asymmetricPtvWeight);
  flag('asymmetric-underdose-weight', asym.underdoseWeight);
  flag('asymmetric-overdose-weight', asym.overdoseWeight);
  sw('use-uncertainty-weighting', hp.useUncertaintyWeighting);
  flag('calibration-json', hp.calibration_json);
  flag('max-minutes', tr.max_minutes);
  return a;
}

/** set (or add) `--name value` in an argument list */
export function setFlag(argv: string[], name: string, value: string): string[] {
  const out = [...argv];
  const i = out.indexOf(`--${name}`);
  const j = out.findIndex((x) => x.startsWith(`--${name}=`));
  if (i >= 0 && i + 1 < out.length) out[i + 1] = value;
  else if (j >= 0) out[j] = `--${name}=${value}`;
  else out.push(`--${name}`, value);
  return out;
}

/** drop run-control switches that must not be repeated when reproducing (e.g. --resume) */
function withoutRunControl(argv: string[]): string[] {
  return argv.filter((a) => a !== '--resume');
}

/** A vmat argv as one shell command line from the project root (`node bin/vmat.js …`, arguments quoted). */
export function commandText(argv: string[]): string {
  return ['node', 'bin/vmat.js', ...argv].map(shellQuote).join(' ');
}

/**
 * The command that reproduces the run in `runDir` (its training_config.json given as `config`):
 * the recorded one when present, else reconstructed. Paths are rewritten relative to `cwd`.
 */
export function reproduceCommand(config: Obj, runDir: string, cwd = process.cwd()): ReproducedCommand {
  const expName = path.basename(runDir);
  const runsDir = displayPath(path.dirname(path.resolve(cwd, runDir)), cwd);
  const rec = obj(config.command);
  let argv: string[];
  let source: ReproducedCommand['source'];
  if (Array.isArray(rec.argv) && rec.argv.every((x) => typeof x === 'string') && rec.argv.includes('train')) {
    const recorded = rec.argv as string[];
    argv = withoutRunControl(recorded.slice(recorded.indexOf('train')));
    source = 'recorded';
  } else {
    argv = reconstructTrainArgs(config, expName, runsDir);
    source = 'reconstructed';
  }
  const dataDir = obj(config.data).data_dir;
  if (typeof dataDir === 'string') argv = setFlag(argv, 'data-dir', displayPath(dataDir, cwd));
  argv = setFlag(argv, 'runs-dir', runsDir);
  argv = setFlag(argv, 'exp-name', expName);
  return { argv, text: commandText(argv), source };
}

/** `vmat infer` of a run's best (else last) checkpoint on its test cases, with metrics */
export function inferCommand(opts: {
  runDir: string;
  checkpoint: string;
  dataDir: string;
  predictionsDir: string;
  overlap?: number | null;
  gammaSubsample?: number | null;
  cwd?: string;
}): string {
  const cwd = opts.cwd ?? process.cwd();
  const argv = [
    'infer',
    '--checkpoint',
    displayPath(opts.checkpoint, cwd),
    '--input-dir',
    displayPath(opts.dataDir, cwd),
    '--output-dir',
    displayPath(opts.predictionsDir, cwd),
    '--cases-from',
    displayPath(path.join(opts.runDir, 'test_cases.json'), cwd),
    ...(opts.overlap != null ? ['--overlap', String(opts.overlap)] : []),
    '--compute-metrics',
    ...(opts.gammaSubsample != null ? ['--gamma-subsample', String(opts.gammaSubsample)] : []),
  ];
  return commandText(argv);
}

/** `<experiment>_seed<N>`: the run naming of scripts/main.sh and of the seed aggregation */
export function seedRunName(experiment: string, seed: number): string {
  return `${experiment}_seed${seed}`;
}

/**
 * The commands that produce the run `<experiment>_seed<seed>` like a given run of the experiment:
 * the same training command with --seed and --exp-name changed, then inference + evaluation.
 * The best checkpoint's file name is only known after training: the infer command reads it from
 * the new run's training_summary.json.
 */
export function seedCommands(opts: {
  config: Obj;
  runDir: string;
  experiment: string;
  seed: number;
  predictionsRoot: string;
  dataDir: string;
  cwd?: string;
}): string[] {
  const cwd = opts.cwd ?? process.cwd();
  const base = reproduceCommand(opts.config, opts.runDir, cwd);
  const name = seedRunName(opts.experiment, opts.seed);
  const argv = setFlag(setFlag(base.argv, 'seed', String(opts.seed)), 'exp-name', name);
  const runsDir = displayPath(path.dirname(path.resolve(cwd, opts.runDir)), cwd);
  const newRun = path.join(runsDir, name);
  const summary = path.join(newRun, 'training_summary.json');
  const ck = `"$(node -p "const s=require(require('path').resolve('${summary.split(path.sep).join('/')}')); s.best_checkpoint||s.last_checkpoint")"`;
  const infer = inferCommand({
    runDir: newRun,
    checkpoint: '__CK__',
    dataDir: opts.dataDir,
    predictionsDir: path.join(opts.predictionsRoot, name),
    cwd,
  }).replace('__CK__', ck);
  return [commandText(argv), infer];
}
