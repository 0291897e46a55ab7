/**
 * An OpenKBP recipe end to end through the command line, at a tiny size: `openkbp train --recipe
 * --plan` lists the stages with their commands, `openkbp train --recipe` runs them (a 64³ stage and
 * a refiner on its predictions), a second run skips the finished stages, and `openkbp ship` builds a
 * bundle whose manifest composes them and whose card reports the scores `openkbp predict` + `openkbp
 * score` give on the same patients.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'vmat.js');
const NPZ = path.join(ROOT, '..', 'shared', 'data', 'openkbp', 'npz');
const available = fs.existsSync(path.join(NPZ, 'train')) && fs.existsSync(path.join(NPZ, 'validation'));

function vmat(args: string[]): { stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: ROOT });
  assert.equal(r.status, 0, `vmat ${args.join(' ')}\n${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

test(
  'recipe: plan, train (resumable, finished stages skipped), ship a bundle scored like predict + score',
  { skip: !available },
  () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'okbp-recipe-'));
    try {
      const train = path.join(root, 'train');
      const val = path.join(root, 'val');
      fs.mkdirSync(train);
      fs.mkdirSync(val);
      for (const f of fs.readdirSync(path.join(NPZ, 'train')).sort().slice(0, 2))
        fs.symlinkSync(path.join(NPZ, 'train', f), path.join(train, f));
      const v0 = fs.readdirSync(path.join(NPZ, 'validation')).sort()[0];
      fs.symlinkSync(path.join(NPZ, 'validation', v0), path.join(val, v0));
      const recipe = {
        format: 'vmat-openkbp-recipe',
        version: 1,
        name: 'openkbp-tiny',
        description: 'test recipe',
        data: { train_dir: train, val_dir: val },
        stages: [
          { name: 's1', task: 'openkbp-64', options: { epochs: 1, 'base-channels': 2, levels: 2 } },
          {
            name: 'r1',
            task: 'openkbp-refine-128',
            coarse: { stage: 's1', tta: true },
            options: { steps: 2, patch: 16, 'base-channels': 2, levels: 2, 'train-limit': 1 },
          },
        ],
        ship: { main: 's1', refiner: 'r1', tta: true },
      };
      const file = path.join(root, 'recipe.json');
      fs.writeFileSync(file, JSON.stringify(recipe));
      const runs = path.join(root, 'runs');
      const plan = vmat(['openkbp', 'train', '--recipe', file, '--runs-dir', runs, '--plan']).stdout;
      assert.match(plan, /1\. s1 \(openkbp-64\) \[pending\]/);
      assert.match(plan, /vmat openkbp refine-train .*--coarse-model '<best checkpoint of stage s1>' --coarse-tta/);
      const done = JSON.parse(
        vmat(['openkbp', 'train', '--recipe', file, '--runs-dir', runs, '--json', '--quiet']).stdout,
      ) as { stages: Array<{ name: string; state: string; command: string[] }> };
      assert.deepEqual(
        done.stages.map((s) => [s.name, s.state]),
        [
          ['s1', 'done'],
          ['r1', 'done'],
        ],
      );
      // the refiner ran on the best checkpoint of stage s1
      const r1 = done.stages[1].command;
      assert.equal(
        path.dirname(r1[r1.indexOf('--coarse-model') + 1]),
        path.join(runs, 'openkbp-tiny', 's1', 'checkpoints'),
      );
      // a second run trains nothing
      const again = spawnSync(process.execPath, [BIN, 'openkbp', 'train', '--recipe', file, '--runs-dir', runs], {
        encoding: 'utf8',
      });
      assert.equal(again.status, 0, again.stderr);
      assert.match(again.stderr, /stage s1 is done/);
      assert.match(again.stderr, /stage r1 is done/);
      // ship, then score the bundle as a user would
      const out = path.join(root, 'model');
      const shipped = JSON.parse(
        vmat(['openkbp', 'ship', '--recipe', file, '--runs-dir', runs, '--out', out, '--json', '--quiet']).stdout,
      ) as {
        validation: { dose_score: number; dvh_score: number };
        training: { stages: unknown[]; wall_time_hours: number };
      };
      const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
      assert.equal(manifest.predictor.kind, 'cascade');
      assert.deepEqual(fs.readdirSync(path.join(out, 'networks')).sort(), ['r1', 's1']);
      assert.equal(shipped.training.stages.length, 2);
      assert.ok(shipped.training.wall_time_hours > 0);
      assert.match(fs.readFileSync(path.join(out, 'MODEL_CARD.md'), 'utf8'), /recipe `openkbp-tiny`/);
      const pred = path.join(root, 'pred');
      vmat(['openkbp', 'predict', '--model', out, '--input-dir', val, '--out', pred, '--quiet']);
      const score = JSON.parse(vmat(['openkbp', 'score', '--ref-dir', val, '--pred-dir', pred, '--json']).stdout) as {
        dose_score: number;
        dvh_score: number;
      };
      assert.ok(Math.abs(score.dose_score - shipped.validation.dose_score) < 1e-9, `${score.dose_score} vs card`);
      assert.ok(Math.abs(score.dvh_score - shipped.validation.dvh_score) < 1e-9);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  },
);
