/**
 * Studies without SLURM: the study file's bad input (issue 16 "Bad input") gets a DataError naming
 * the key with expected vs found before anything runs; `vmat study plan` on the shipped
 * phase2_ablation lists the reference's 39 runs; the report's statistics equal the scipy peer
 * (test/fixtures/study/scipy_peer.py) on per-case results with ties, zero differences, a missing run
 * and a metric with too few pairs; a failing run is reported with its log and does not stop the others.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { studyCommandSpecs } from '../../lib/cli/commands/study';
import { loadStudy } from '../../lib/study/study';
import { buildReport } from '../../lib/study/report';
import { writeSplit } from '../../lib/data/split';
import { writeReferenceNpz } from '../../lib/data/reference_npz';
import { Rng } from '../../lib/core/rng';
import { phantomCase } from '../prostate/phantom';
import { assertReportMatchesPeer, ROOT, runPeer, vmat } from './helpers';

const TEST_IDS = ['c01', 'c02', 'c03', 'c04', 'c05', 'c06', 'c07', 'c08'];

function tmp(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

async function dataWithSplit(dir: string, test = TEST_IDS): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  await writeSplit(path.join(dir, 'split.json'), {
    version: 1,
    seed: 0,
    created_by: 'test',
    strata_keys: [],
    train: ['t01', 't02'],
    val: ['v01'],
    test,
  });
  return dir;
}

function baseStudy(dataDir: string): Record<string, unknown> {
  return {
    data_dir: dataDir,
    seeds: [1, 2, 3],
    reference: 'base',
    training: { epochs: 2, 'patch-size': 16, augmentation: false },
    conditions: [
      { name: 'base', flags: [] },
      { name: 'grad', flags: ['--use-gradient-loss'] },
      { name: 'asym', flags: ['--use-asymmetric-ptv', '--asymmetric-underdose-weight', '2.5'] },
    ],
    evaluation: { 'gamma-subsample': 2 },
    analysis: { primary_metrics: [{ path: 'dose_metrics.mae_gy', better: 'lower' }] },
  };
}

function writeStudy(dir: string, name: string, body: unknown): string {
  const f = path.join(dir, `${name}.json`);
  fs.writeFileSync(f, JSON.stringify(body, null, 2));
  return f;
}

function expectError(body: Record<string, unknown>, dir: string, pattern: RegExp): void {
  const f = writeStudy(dir, 'bad', body);
  assert.throws(
    () => loadStudy(f, studyCommandSpecs()),
    (e: Error) => {
      assert.match(e.message, pattern);
      assert.ok(e.message.startsWith(f), `the message names the file: ${e.message}`);
      return true;
    },
  );
}

test('bad study files: a DataError naming the key, expected vs found', async () => {
  const dir = tmp('vmat-study-bad-');
  const data = await dataWithSplit(path.join(dir, 'data'));
  const ok = baseStudy(data);
  const s = loadStudy(writeStudy(dir, 'good', ok), studyCommandSpecs());
  assert.deepEqual(s.trainingArgv, ['--epochs', '2', '--patch-size', '16', '--no-augmentation']);
  assert.equal(s.dir, path.join(dir, 'good'));

  const conds = ok.conditions as Array<Record<string, unknown>>;
  // unknown train flag, checked against the train command's own option list
  expectError(
    { ...ok, conditions: [conds[0], { name: 'x', flags: ['--use-gradiant-loss'] }] },
    dir,
    /\[conditions\[1\]\.flags\[0\]\]: expected a flag of `vmat train` \(one of: .*--use-gradient-loss.*\), found unknown flag --use-gradiant-loss/,
  );
  // a value the train command's own parser rejects
  expectError(
    { ...ok, conditions: [conds[0], { name: 'x', flags: ['--gradient-loss-weight', 'heavy'] }] },
    dir,
    /\[conditions\[1\]\.flags\]: expected values `vmat train` accepts, found --gradient-loss-weight: expected a number >= 0, found 'heavy'/,
  );
  // a flag the study sets itself
  expectError(
    { ...ok, conditions: [conds[0], { name: 'x', flags: ['--seed', '7'] }] },
    dir,
    /\[conditions\[1\]\.flags\[0\]\]: expected a flag the study does not set itself .*found --seed/,
  );
  // unknown key in the shared settings
  expectError(
    { ...ok, training: { epochs: 2, patch_sise: 16 } },
    dir,
    /\[training\]: .*found unknown key "patch_sise"/,
  );
  // a condition name used twice
  expectError(
    { ...ok, conditions: [conds[0], conds[1], { ...conds[2], name: 'grad' }] },
    dir,
    /\[conditions\[2\]\.name\]: expected each condition name used once, found "grad" again \(already conditions\[1\]\.name\)/,
  );
  // an empty seed list
  expectError({ ...ok, seeds: [] }, dir, /\[seeds\]: expected a non-empty list of integer seeds.*found an empty list/);
  expectError({ ...ok, seeds: [1, 1.5] }, dir, /\[seeds\[1\]\]: expected an integer seed >= 0, found number 1\.5/);
  // a data directory without a split
  const noSplit = path.join(dir, 'nosplit');
  fs.mkdirSync(noSplit);
  expectError(
    { ...ok, data_dir: noSplit },
    dir,
    /\[data_dir\]: expected a data folder with a locked split .*without split\.json/,
  );
  // unknown reference, unknown key, too few pairs allowed by the plan
  expectError(
    { ...ok, reference: 'baseline' },
    dir,
    /\[reference\]: expected the name of a condition of this study \(base, grad, asym\), found "baseline"/,
  );
  expectError({ ...ok, condtions: [] }, dir, /\[condtions\]: .*found unknown key "condtions"/);
  expectError(
    { ...ok, analysis: { primary_metrics: [{ path: 'dose_metrics.mae_gy', better: 'lower' }], min_pairs: 3 } },
    dir,
    /\[analysis\.min_pairs\]: expected an integer >= 6 .*found number 3/,
  );
  expectError(
    { ...ok, analysis: { primary_metrics: [{ path: 'dose_metrics.mae_gy', better: 'smaller' }] } },
    dir,
    /\[analysis\.primary_metrics\[0\]\.better\]: expected "lower" or "higher", found the string "smaller"/,
  );
  expectError(
    {
      ...ok,
      analysis: {
        primary_metrics: [{ path: 'dose_metrics.mae_gy', better: 'lower' }],
        families: [{ name: 'f', conditions: ['gard'] }],
      },
    },
    dir,
    /\[analysis\.families\[0\]\.conditions\[0\]\]: expected the name of a condition .*found "gard"/,
  );

  // runs already on disk from a different split: refused by `study run` before anything runs or is submitted
  const f = writeStudy(dir, 'good', ok);
  const other = path.join(dir, 'good', 'runs', 'grad_seed2');
  await writeSplit(path.join(other, 'split.json'), {
    version: 1,
    seed: 9,
    created_by: 'another split',
    strata_keys: [],
    train: ['c01', 't01'],
    val: ['v01'],
    test: ['t02', 'c02'],
  });
  for (const executor of ['local', 'slurm']) {
    const r = vmat(['study', 'run', f, '--executor', executor]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(
      r.stderr,
      /\[data_dir\]: expected runs made with the study's locked split .*1 run folder\(s\) from a different split: .*grad_seed2\/split\.json: its train cases/,
    );
    assert.ok(!fs.existsSync(path.join(dir, 'good', 'logs')), 'nothing ran');
    assert.ok(!fs.existsSync(path.join(dir, 'good', 'jobs', 'submission.json')), 'nothing was submitted');
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('vmat study plan lists the 39 training runs of the reference ablation with their flags', () => {
  const r = vmat(['study', 'plan', path.join(ROOT, 'studies', 'phase2_ablation.json'), '--json']);
  assert.equal(r.status, 0, r.stderr);
  const p = JSON.parse(r.stdout) as { runs: Array<{ run: string; train_argv: string[]; state: string }> };
  assert.equal(p.runs.length, 39);
  const names = [...new Set(p.runs.map((x) => x.run.replace(/_seed\d+$/, '')))];
  assert.deepEqual(
    names,
    Array.from({ length: 13 }, (_, i) => `C${i + 1}`),
  );
  const argv = (id: string) => p.runs.find((x) => x.run === id)!.train_argv.join(' ');
  assert.match(argv('C1_seed42'), /--epochs 200 --patch-size 128 --base-channels 48 --levels 5 .* --seed 42$/);
  assert.match(
    argv('C6_seed123'),
    /--use-gradient-loss --use-dvh-loss --use-structure-weighted --use-asymmetric-ptv --asymmetric-underdose-weight 2\.5 --use-uncertainty-weighting/,
  );
  assert.doesNotMatch(argv('C7_seed456'), /--use-gradient-loss/);
  assert.match(argv('C11_seed42'), /--architecture attention_unet/);
  assert.match(argv('C13_seed42'), /--architecture bottleneck_attn/);
  // the text form names every run with its flags
  const t = vmat(['study', 'plan', path.join(ROOT, 'studies', 'phase2_ablation.json')]);
  assert.match(t.stdout, /13 conditions x 3 seeds = 39 training runs/);
  assert.match(t.stdout, /\[38\] C13_seed456 /);
});

/** per-case result objects with ties and zero differences between conditions */
function fakeCase(id: string, cond: number, seed: number, rng: Rng, k: number): Record<string, unknown> {
  const mae = Math.round((3 + 0.3 * cond + rng.normal() * 0.4 + 0.05 * seed) * 10) / 10;
  const d95 = Math.round((rng.normal() - 0.5 * cond) * 100) / 100;
  return {
    case_id: id,
    dose_metrics: { mae_gy: mae },
    gamma: {
      ptv_region_3mm3pct: {
        gamma_pass_rate: cond === 2 ? 90 : Math.min(100, 80 + 5 * cond + Math.round(rng.normal() * 4)),
      },
    },
    dvh_metrics: {
      PTV70: { D95_error: d95 },
      // only 5 of 8 cases have a PTV56: too few pairs for a test
      ...(k < 5 ? { 'PTV50.4': { D95_error: Math.round(rng.normal() * 100) / 100 } } : {}),
    },
  };
}

test('study report equals the scipy peer (aggregates, Wilcoxon, Holm per family, Cohen d, CIs); refusals and missing runs', async () => {
  const dir = tmp('vmat-study-stats-');
  const data = await dataWithSplit(path.join(dir, 'data'));
  const body = {
    ...baseStudy(data),
    conditions: [
      { name: 'base', flags: [] },
      { name: 'grad', flags: ['--use-gradient-loss'] },
      { name: 'asym', flags: ['--use-asymmetric-ptv'] },
      { name: 'full', flags: ['--use-gradient-loss', '--use-asymmetric-ptv'] },
    ],
    analysis: {
      primary_metrics: [
        { path: 'dose_metrics.mae_gy', better: 'lower' },
        { path: 'gamma.ptv_region_3mm3pct.gamma_pass_rate', better: 'higher' },
        { path: 'dvh_metrics.PTV70.D95_error', abs: true, better: 'lower' },
      ],
      secondary_metrics: [{ path: 'dvh_metrics.PTV50.4.D95_error', better: 'higher' }],
      bootstrap: { resamples: 2000, seed: 7, ci: 90 },
      families: [
        { name: 'loss', conditions: ['grad', 'asym', 'full'] },
        { name: 'ablation', against: 'full', conditions: ['grad', 'asym'] },
      ],
      decision_rules: [
        { id: 'primary', kind: 'beats_on_primary', condition: 'full', against: 'base', p_threshold: 0.05 },
        { id: 'simpler', kind: 'single_matches_full', full: 'full', singles: ['grad', 'asym'] },
      ],
      seed_extension: { ratio: 2, extra_seeds: [4, 5] },
    },
  };
  const f = writeStudy(dir, 'stats', body);
  const rng = Rng.fromSeed('study-stats-test');
  body.conditions.forEach((c, ci) => {
    for (const seed of [1, 2, 3]) {
      if (c.name === 'asym' && seed === 3) continue; // a missing run
      const id = `${c.name}_seed${seed}`;
      fs.mkdirSync(path.join(dir, 'stats', 'runs', id), { recursive: true });
      fs.writeFileSync(
        path.join(dir, 'stats', 'runs', id, 'training_summary.json'),
        JSON.stringify({ stopped_by: 'max_epochs', epochs_completed: 2 }),
      );
      const pred = path.join(dir, 'stats', 'predictions', id);
      fs.mkdirSync(pred, { recursive: true });
      const per = TEST_IDS.map((cid, k) => fakeCase(cid, ci, seed, rng, k));
      fs.writeFileSync(
        path.join(pred, 'evaluation_results.json'),
        JSON.stringify({ n_cases: per.length, per_case_results: per }),
      );
    }
  });
  const s = loadStudy(f, studyCommandSpecs());
  const report = buildReport(s);
  assert.deepEqual(report.missing_runs, ['asym_seed3']);
  assert.ok(report.deviations.some((d) => /asym_seed3 missing/.test(d)));
  // PTV50.4 (a structure name with a dot) exists in 5 cases: refused, said so
  const refused = report.comparisons.filter((c) => c.metric === 'dvh_metrics.PTV50.4.D95_error');
  assert.ok(
    refused.length &&
      refused.every((c) => c.p_value === null && /needs >= 6 paired cases, found 5/.test(c.refused ?? '')),
  );
  assert.ok(report.deviations.some((d) => /not tested: needs >= 6 paired cases, found 5/.test(d)));
  // ties and zero differences reach the permutation branch somewhere
  assert.ok(
    report.comparisons.some((c) => c.method === 'permutation'),
    'a comparison with ties or zeros',
  );
  assert.ok(report.comparisons.some((c) => c.method === 'exact'));
  assert.equal(report.decisions.length, 2);
  assert.match(report.decisions[0].statement, /^(Primary finding|Mixed result|Negative result): full/);
  assert.ok(report.seed_extension && /seed-to-seed SD|No extension needed/.test(report.seed_extension.statement));

  const peer = runPeer(f);
  const n = assertReportMatchesPeer(report, peer);
  assert.ok(n > 150, `compared ${n} numbers`);
  // Holm is per family: the same grad-vs-* pair appears in two families with different adjustments
  const holmGroups = new Set(report.comparisons.filter((c) => c.p_holm !== null).map((c) => `${c.family}/${c.metric}`));
  assert.ok(holmGroups.has('loss/dose_metrics.mae_gy') && holmGroups.has('ablation/dose_metrics.mae_gy'));

  // the CLI writes the same analysis to report/ (JSON unrounded + Markdown)
  const r = vmat(['study', 'report', f]);
  assert.equal(r.status, 0, r.stderr);
  const written = JSON.parse(fs.readFileSync(path.join(dir, 'stats', 'report', 'report.json'), 'utf8'));
  assertReportMatchesPeer(written, peer);
  const md = fs.readFileSync(path.join(dir, 'stats', 'report', 'report.md'), 'utf8');
  assert.match(md, /## Family `loss`/);
  assert.match(md, /Missing from the analysis: asym_seed3/);
  assert.match(r.stdout, /missing runs: asym_seed3/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a failing run is recorded with its reason and log; the other runs finish', async () => {
  const dir = tmp('vmat-study-fail-');
  const data = path.join(dir, 'data');
  fs.mkdirSync(data);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const id = `case_${i}`;
    ids.push(id);
    await writeReferenceNpz(
      path.join(data, `${id}.npz`),
      phantomCase({ id, shape: [16, 16, 12], shift: [(i % 3) - 1, 0, 0] }),
    );
  }
  await writeSplit(path.join(data, 'split.json'), {
    version: 1,
    seed: 0,
    created_by: 'test',
    strata_keys: [],
    train: ids.slice(0, 3),
    val: [ids[3]],
    test: [ids[4]],
  });
  const f = writeStudy(dir, 'failing', {
    data_dir: 'data',
    seeds: [1],
    reference: 'ok',
    training: { epochs: 1, 'patch-size': 16, 'base-channels': 2, levels: 2, 'patches-per-volume': 1 },
    conditions: [
      { name: 'broken', flags: ['--use-uncertainty-weighting', '--calibration-json', path.join(dir, 'missing.json')] },
      { name: 'ok', flags: [] },
    ],
    evaluation: { 'gamma-subsample': 2 },
    analysis: { primary_metrics: [{ path: 'dose_metrics.mae_gy', better: 'lower' }] },
  });
  const r = vmat(['study', 'run', f, '--max-parallel', '1']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(
    r.stderr,
    /run broken_seed1 FAILED: vmat train exited with code 2: vmat: .*missing\.json.*\(log: .*logs\/broken_seed1\/train\.log\)/,
  );
  const st = vmat(['study', 'status', f, '--json']);
  const runs = (JSON.parse(st.stdout) as { runs: Array<{ run: string; state: string; log: string | null }> }).runs;
  assert.deepEqual(
    runs.map((x) => [x.run, x.state]),
    [
      ['broken_seed1', 'failed'],
      ['ok_seed1', 'done'],
    ],
  );
  assert.ok(fs.readFileSync(runs[0].log!, 'utf8').includes('--calibration-json'), 'the log holds the exact command');
  const rec = JSON.parse(fs.readFileSync(path.join(dir, 'failing', 'logs', 'ok_seed1', 'status.json'), 'utf8'));
  assert.deepEqual(
    rec.attempts.map((a: { phase: string; outcome: string }) => [a.phase, a.outcome]),
    [
      ['train', 'ok'],
      ['infer', 'ok'],
    ],
  );
  assert.equal(rec.attempts[0].argv[2], 'train');
  assert.ok(rec.attempts[1].argv.includes('--compute-metrics'));
  // the report says which run is missing
  const rep = vmat(['study', 'report', f]);
  assert.equal(rep.status, 0, rep.stderr);
  assert.match(rep.stdout, /missing runs: broken_seed1/);
  fs.rmSync(dir, { recursive: true, force: true });
});
