/**
 * Regenerates the experiments index from runs/ (see lib/notebook/experiments_index.ts).
 *   node --import tsx scripts/notebooks/update-index.ts                 -> figures/EXPERIMENTS_INDEX.md (git-ignored)
 *   node --import tsx scripts/notebooks/update-index.ts --out FILE      -> FILE (e.g. notebooks/EXPERIMENTS_INDEX.md,
 *                                                                          to commit the index deliberately)
 * VMAT_RUNS_DIR / VMAT_PREDICTIONS_DIR / VMAT_INDEX_FILE override the folders and the output file.
 */
import * as path from 'node:path';
import { writeFileAtomicSync } from '../../lib/core/atomic';
import { collectRuns, defaultIndexFile, renderIndex } from '../../lib/notebook/experiments_index';

const root = path.resolve(process.env.VMAT_ROOT ?? path.join(__dirname, '..', '..'));
const argOut = process.argv.indexOf('--out');
const out = path.resolve(
  argOut >= 0 && process.argv[argOut + 1]
    ? process.argv[argOut + 1]
    : (process.env.VMAT_INDEX_FILE ?? defaultIndexFile(root)),
);
const rows = collectRuns(root, {
  runsDir: process.env.VMAT_RUNS_DIR,
  predictionsDir: process.env.VMAT_PREDICTIONS_DIR,
});
const linkBase = path.relative(path.dirname(out), root).split(path.sep).join('/') || '.';
writeFileAtomicSync(out, renderIndex(rows, { linkBase }));
process.stderr.write(`EXPERIMENTS_INDEX.md: ${rows.length} run(s) -> ${path.relative(process.cwd(), out)}\n`);
