/** Regenerates notebooks/EXPERIMENTS_INDEX.md from runs/ (see lib/notebook/experiments_index.ts). */
import * as path from 'node:path';
import { writeFileAtomicSync } from '../../lib/core/atomic';
import { collectRuns, renderIndex } from '../../lib/notebook/experiments_index';

const root = path.resolve(process.env.VMAT_ROOT ?? path.join(__dirname, '..', '..'));
const out = process.env.VMAT_INDEX_FILE ?? path.join(root, 'notebooks', 'EXPERIMENTS_INDEX.md');
const rows = collectRuns(root);
writeFileAtomicSync(out, renderIndex(rows));
process.stderr.write(`EXPERIMENTS_INDEX.md: ${rows.length} run(s) -> ${path.relative(process.cwd(), out)}\n`);
