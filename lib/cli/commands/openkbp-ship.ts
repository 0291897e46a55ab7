/**
 * `vmat openkbp ship`: builds the model bundle of an OpenKBP recipe (lib/openkbp/ship.ts) from its
 * finished stages — manifest, networks, validation scores with CIs and floor, training record, model card.
 */
import * as path from 'node:path';
import type { Command } from 'commander';
import { openkbpGroup } from './openkbp';
import { printJson } from '../json';

interface ShipFlags {
  recipe: string;
  runsDir: string;
  dataDir?: string;
  valDir?: string;
  out?: string;
  floorJson?: string;
  predictions?: string;
  json?: boolean;
  quiet?: boolean;
}

/** Registers `vmat openkbp ship`: builds the model bundle and model card from a recipe's finished stages. */
export function register(program: Command): void {
  openkbpGroup(program)
    .command('ship')
    .description(
      "ship an OpenKBP recipe's finished stages as a model bundle: manifest, networks, validation scores (CIs, floor), training record, model card",
    )
    .requiredOption('--recipe <file>', 'the recipe whose stages were trained (vmat openkbp train --recipe)')
    .option('--runs-dir <dir>', 'where the recipe ran (its stages are <runs-dir>/<recipe name>/<stage>)', 'runs')
    .option('--data-dir <dir>', "training patients (default: the recipe's data.train_dir)")
    .option('--val-dir <dir>', "validation patients that are scored (default: the recipe's data.val_dir)")
    .option('--out <dir>', 'bundle folder (default models/openkbp-<name>)')
    .option('--floor-json <file>', 'a scored resolution floor to reuse instead of computing it')
    .option('--predictions <dir>', 'keep the scored pt_N.csv predictions here')
    .option('--json', 'print the scores as JSON')
    .option('--quiet', 'no progress output')
    .action(async (f: ShipFlags) => {
      const { initEngine } = await import('../../engine');
      const { readRecipe } = await import('../../openkbp/recipe');
      const { shipRecipe } = await import('../../openkbp/ship');
      const recipe = readRecipe(f.recipe);
      await initEngine({ quiet: true });
      const r = await shipRecipe(
        recipe,
        {
          runsDir: f.runsDir,
          trainDir: f.dataDir ?? recipe.data.train_dir,
          valDir: f.valDir ?? recipe.data.val_dir,
        },
        { outDir: f.out, floorJson: f.floorJson, predictionsDir: f.predictions, quiet: !!f.quiet },
      );
      if (f.json) printJson({ model_dir: r.modelDir, ...r.scores });
      else {
        const v = r.scores.validation as { dose_score: number; dvh_score: number; n_patients: number };
        console.log(
          `shipped ${path.relative(process.cwd(), r.modelDir) || r.modelDir}: validation dose score ${v.dose_score.toFixed(4)} Gy, DVH score ${v.dvh_score.toFixed(4)} Gy (${v.n_patients} patients); model card ${path.join(r.modelDir, 'MODEL_CARD.md')}`,
        );
      }
    });
}
