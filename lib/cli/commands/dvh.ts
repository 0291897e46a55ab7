/** `vmat dvh`: DVH points of one structure (lib/eval/dvh.ts). */
import type { Command } from 'commander';
import type { DxMethod } from '../../eval/dvh';
import { oneOf, parseNumberList, parseSpacing } from '../options';
import { printJson } from '../json';

/** Registers `vmat dvh`: DVH points of one structure (Dx and Dmean/Dmax in Gy, D0.1cc, Vx in %) from a dose and a mask array. */
export function register(program: Command): void {
  program
    .command('dvh')
    .description(
      'DVH points of a structure: D98, D95, D50, D2, Dmean, Dmax, D0.1cc (Gy) and Vx (%), with a selectable Dx definition',
    )
    .requiredOption('--dose <array>', 'dose in Gy: file.npy or file.npz:key')
    .requiredOption('--mask <array>', 'structure mask (nonzero = inside) on the same grid')
    .requiredOption('--spacing-mm <a,b,c>', 'voxel size in mm, array axis order')
    .option(
      '--method <m>',
      "Dx definition: linear (numpy default, OpenKBP) | lower (numpy 'lower', reference evaluation) | exact (voxel-step DVH)",
      'linear',
    )
    .option('--v-gy <x,...>', 'doses (Gy) for Vx = % of the volume receiving >= x')
    .option('--json', 'print one JSON object')
    .action(
      async (o: { dose: string; mask: string; spacingMm: string; method?: string; vGy?: string; json?: boolean }) => {
        const spacing = parseSpacing(o.spacingMm);
        const method = oneOf<DxMethod>('--method', o.method, ['linear', 'lower', 'exact'], 'linear');
        const vGy = o.vGy === undefined ? [] : parseNumberList('--v-gy', o.vGy);
        const { dvhPoints } = await import('../../eval/dvh');
        const { load3d, loadMask } = await import('../array_inputs');
        const dose = await load3d(o.dose, 'dose');
        const mask = await loadMask(o.mask, dose.shape, o.dose);
        const p = dvhPoints(dose.data, mask, spacing, { method, vGy });
        const out = {
          D98: p.D98,
          D95: p.D95,
          D50: p.D50,
          D2: p.D2,
          Dmean: p.Dmean,
          Dmax: p.Dmax,
          'D0.1cc': p['D0.1cc'],
          D2cc: p.D2cc,
          Dmin: p.Dmin,
          V: p.V,
          method: p.method,
          n_voxels: p.n_voxels,
          volume_cc: p.volume_cc,
        };
        if (o.json) printJson(out);
        else {
          console.log(`dvh (${method}): ${p.n_voxels} voxels, ${p.volume_cc.toFixed(2)} cc`);
          for (const k of ['D98', 'D95', 'D50', 'D2', 'Dmean', 'Dmax', 'D0.1cc', 'D2cc'] as const)
            console.log(`  ${k.padEnd(7)} ${p[k].toFixed(3)} Gy`);
          for (const [x, v] of Object.entries(p.V)) console.log(`  V${x}Gy ${v.toFixed(2)}%`);
        }
      },
    );
}
