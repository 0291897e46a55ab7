/** `vmat evaluate`: evaluation JSON of a folder of predictions in the reference layout (lib/eval/evaluation_json.ts). */
import type { Command } from 'commander';
import * as path from 'node:path';
import { oneOf, parseNumber } from '../options';
import type { ConstraintTable } from '../../eval/clinical';
import type { DxMethod } from '../../eval/dvh';
import { printJson } from '../json';

/** Registers `vmat evaluate`: scores every `<case>_pred.npz` against its case and writes the reference evaluation JSON. */
export function register(program: Command): void {
  program
    .command('evaluate')
    .description(
      'evaluate every <case>_pred.npz against its case: dose errors, gamma (global + PTV region), DVH metrics, clinical constraints',
    )
    .requiredOption('--pred-dir <dir>', 'folder of <case>_pred.npz (dose normalised by Rx, as inference writes)')
    .requiredOption('--data-dir <dir>', 'folder of the cases (<case>.npz, OpenKBP folders or npz)')
    .option('--out <file>', 'output JSON (default: <pred-dir>/evaluation_results.json)')
    .option('--gamma-subsample <s>', 'evaluate gamma on volume[::s, ::s, ::s] (1 = full resolution)', '1')
    .option('--skip-gamma', 'do not compute gamma')
    .option('--dx-method <m>', 'Dx definition: lower (reference) | linear | exact', 'lower')
    .option('--constraints <table>', 'clinical table: v2.3 (reported results) | head (v2.4) | coverage', 'v2.3')
    .option('--model-type <name>', 'model_type recorded in the JSON', 'baseline_unet')
    .option('--architecture <name>', 'architecture recorded in the JSON', 'unknown')
    .option('--json', 'print a JSON summary (output path and aggregate metrics)')
    .action(
      async (o: {
        predDir: string;
        dataDir: string;
        out?: string;
        gammaSubsample?: string;
        skipGamma?: boolean;
        dxMethod?: string;
        constraints?: string;
        modelType: string;
        architecture: string;
        json?: boolean;
      }) => {
        const { EVALUATION_FILE } = await import('../../infer/run_inference');
        const { evaluatePredictions } = await import('../../eval/evaluation_json');
        const { writeJsonAtomic } = await import('../../core/atomic');
        const out = o.out ?? path.join(o.predDir, EVALUATION_FILE);
        const res = await evaluatePredictions({
          predDir: o.predDir,
          dataDir: o.dataDir,
          gammaSubsample: parseNumber(
            '--gamma-subsample',
            o.gammaSubsample,
            1,
            (x) => Number.isInteger(x) && x >= 1,
            'a positive integer',
          ),
          skipGamma: !!o.skipGamma,
          dxMethod: oneOf<DxMethod>('--dx-method', o.dxMethod, ['lower', 'linear', 'exact'], 'lower'),
          constraintTable: oneOf<ConstraintTable>('--constraints', o.constraints, ['v2.3', 'head', 'coverage'], 'v2.3'),
          modelType: o.modelType,
          architecture: o.architecture,
        });
        await writeJsonAtomic(out, res);
        if (o.json) printJson({ out, n_cases: res.n_cases, aggregate_metrics: res.aggregate_metrics });
        else {
          const a = res.aggregate_metrics as Record<string, number | null>;
          const f = (x: number | null) => (x === null ? 'n/a' : x.toFixed(2));
          console.log(`evaluated ${res.n_cases} cases -> ${out}`);
          console.log(
            `  MAE ${f(a.mae_gy_mean)} +/- ${f(a.mae_gy_std)} Gy; global gamma ${f(a.gamma_pass_rate_mean)}%; PTV-region gamma ${f(a.ptv_gamma_pass_rate_mean)}%`,
          );
        }
      },
    );
}
