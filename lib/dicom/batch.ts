/**
 * `vmat preprocess` over a folder of cases (spec 2.1, 2.2 step 14): every immediate sub-folder
 * of the input folder is one case, in sorted order; cases run in parallel on worker threads; a
 * failed case gets no npz (a stale one from an earlier run is removed) and its reason — the
 * DataError naming the file and tag — goes to `batch_summary.json` (`failed_cases` and
 * `failure_reasons`); the other cases go on. Debug panels are exported after the cases.
 */
import { runJobPool, workerSource } from '../core/workers';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataError, VmatError } from '../core/errors';
import { writeJsonAtomic } from '../core/atomic';
import { createProgress } from '../core/progress';
import { closeExporter, exportFigure } from '../plot/export';
import { type CaseJob, runCaseJob } from './case_job';
import { debugPanelFigure } from './debug_panel';
import { type CaseResult, isoNow, type PreprocessOptions } from './preprocess_case';
import { DEFAULT_MAPPING_FILE, loadOarMapping } from './roi_mapping';

/** Options of preprocessBatch (the flags of `vmat preprocess`). */
export interface BatchOptions extends Omit<PreprocessOptions, 'mapping'> {
  /** ROI mapping (default: the shipped copy of the reference's oar_mapping.json) */
  mappingFile?: string;
  /** parallel cases (default: min(cases, available cores, 4)); 1 runs in this thread */
  jobs?: number;
  /** no debug PNGs */
  skipPlots?: boolean;
  /** progress hook (notebooks); otherwise a bar/lines on stderr unless `quiet` */
  onProgress?: (done: number, total: number, info: string) => void;
  quiet?: boolean;
}

/** One failed case. */
export interface CaseFailure {
  caseId: string;
  reason: string;
}

/** What preprocessBatch returns: the summary written to batch_summary.json and the per-case results. */
export interface BatchReport {
  summaryFile: string;
  summary: Record<string, unknown>;
  results: CaseResult[];
  failures: CaseFailure[];
  /** batch-level notes (e.g. debug panels not exported) */
  warnings: string[];
}

/** Immediate sub-folders of `inputDir`, sorted by name (minus `exclude`, e.g. an output folder inside it). */
export function listCaseDirs(inputDir: string, exclude?: string): string[] {
  if (!fs.existsSync(inputDir) || !fs.statSync(inputDir).isDirectory())
    throw new DataError(inputDir, null, 'an input folder of case folders', 'no such folder');
  return fs
    .readdirSync(inputDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() || (e.isSymbolicLink() && fs.statSync(path.join(inputDir, e.name)).isDirectory()))
    .map((e) => e.name)
    .sort()
    .map((n) => path.join(inputDir, n))
    .filter((d) => !exclude || path.resolve(d) !== path.resolve(exclude));
}

type Outcome = { ok: true; result: CaseResult } | { ok: false; reason: string };

function failureReason(e: unknown): string {
  if (e instanceof VmatError) return e.message;
  return `internal error: ${e instanceof Error ? e.message : String(e)}`;
}

async function runInProcess(jobs: CaseJob[], onDone: (i: number, o: Outcome) => void): Promise<void> {
  for (let i = 0; i < jobs.length; i++) {
    let o: Outcome;
    try {
      o = { ok: true, result: await runCaseJob(jobs[i]) };
    } catch (e) {
      if (!(e instanceof VmatError) && process.env.VMAT_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
      o = { ok: false, reason: failureReason(e) };
    }
    onDone(i, o);
  }
}

function runInWorkers(jobs: CaseJob[], threads: number, onDone: (i: number, o: Outcome) => void): Promise<void> {
  return runJobPool<CaseJob, CaseResult>(
    jobs,
    threads,
    workerSource(__dirname, 'preprocess_worker', 'runPreprocessWorker'),
    (k, m) => {
      if (m.ok) onDone(k, { ok: true, result: m.result! });
      else {
        if (!m.userError && process.env.VMAT_DEBUG) process.stderr.write(`${m.error}\n`);
        onDone(k, {
          ok: false,
          reason: m.userError ? m.error! : `internal error: ${(m.error ?? '').split('\n')[0]}`,
        });
      }
    },
  );
}

/** default worker count: the cores available, at most 4 (memory) and at most the number of cases */
export function defaultJobs(cases: number): number {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(cases, cores, 4));
}

/**
 * Preprocesses every case folder of `inputDir` into `outputDir` and writes
 * `batch_summary.json` (spec 1.8 + `failure_reasons`). Never throws for a bad case.
 */
export async function preprocessBatch(inputDir: string, outputDir: string, opts: BatchOptions): Promise<BatchReport> {
  const mappingFile = path.resolve(opts.mappingFile ?? DEFAULT_MAPPING_FILE);
  loadOarMapping(mappingFile); // a bad mapping stops the batch before any work
  // an output folder inside the input folder is not a case
  const caseDirs = listCaseDirs(inputDir, outputDir);
  fs.mkdirSync(outputDir, { recursive: true });
  const { mappingFile: _m, jobs: _j, skipPlots: _s, onProgress: _p, quiet: _q, ...caseOptions } = opts;
  void _m;
  void _j;
  void _s;
  void _p;
  void _q;
  const jobs: CaseJob[] = caseDirs.map((caseDir) => ({
    caseDir: path.resolve(caseDir),
    outputDir: path.resolve(outputDir),
    mappingFile,
    options: caseOptions,
  }));
  const outcomes: Outcome[] = new Array(jobs.length);
  const progress = createProgress({
    label: 'preprocess',
    total: jobs.length,
    onUpdate: opts.onProgress,
    quiet: opts.quiet,
  });
  const onDone = (i: number, o: Outcome) => {
    outcomes[i] = o;
    const id = path.basename(caseDirs[i]);
    if (!o.ok) {
      // the case gets no npz: remove this command's earlier outputs for it
      fs.rmSync(path.join(outputDir, `${id}.npz`), { force: true });
      fs.rmSync(path.join(outputDir, `debug_${id}.png`), { force: true });
    }
    progress.tick(1, `${id} ${o.ok ? 'ok' : 'FAILED'}`);
  };
  const threads = Math.min(opts.jobs ?? defaultJobs(jobs.length), jobs.length);
  if (threads <= 1) await runInProcess(jobs, onDone);
  else await runInWorkers(jobs, threads, onDone);
  progress.stop();

  const results = outcomes.filter((o): o is { ok: true; result: CaseResult } => o.ok).map((o) => o.result);
  const failures: CaseFailure[] = outcomes.flatMap((o, i) =>
    o.ok ? [] : [{ caseId: path.basename(caseDirs[i]), reason: o.reason }],
  );
  const warnings: string[] = [];
  if (!opts.skipPlots && results.length) {
    try {
      for (const r of results)
        await exportFigure(debugPanelFigure(r.caseId, r.caseType, r.debug, r.rxGy), outputDir, {
          formats: ['png'],
          scale: 150 / 96,
        });
    } catch (e) {
      warnings.push(`debug panels not exported: ${(e as Error).message.split('\n')[0]}`);
    } finally {
      await closeExporter();
    }
  }

  const layout = opts.layout;
  const computeSdf = opts.computeSdf ?? true;
  const extractBeams = opts.extractBeams ?? true;
  const summary: Record<string, unknown> = {
    processed_date: isoNow(),
    script_version: layout === 'v2.4' ? '2.4.0' : '2.3.0',
    total_cases: jobs.length,
    processed: results.length,
    failed: failures.length,
    failed_cases: failures.map((f) => f.caseId),
    failure_reasons: Object.fromEntries(failures.map((f) => [f.caseId, f.reason])),
  };
  if (layout === 'v2.4') {
    const dist: Record<string, number> = { sib_2level: 0, sib_3level: 0, nodal_only: 0, single_rx: 0 };
    for (const r of results) dist[r.caseType] = (dist[r.caseType] ?? 0) + 1;
    summary.case_type_distribution = dist;
    summary.case_types = Object.fromEntries(results.map((r) => [r.caseId, r.caseType]));
  }
  const settings: Record<string, unknown> = {};
  // v2.3 data were made with --relax_filter (PTV70 is the only gate, as in v2.4)
  if (layout === 'v2.3') settings.relax_filter = true;
  Object.assign(settings, {
    strict_validation: !!opts.strictValidation,
    compute_sdfs: computeSdf,
    extract_beams: extractBeams,
    extract_mlc: extractBeams,
    sdf_clip_mm: computeSdf ? (opts.sdfClipMm ?? 50) : null,
    inplane_size: opts.inplaneSize ?? 300,
    z_margin_mm: opts.zMarginMm ?? 30,
  });
  if (opts.fill === 'even-odd') settings.fill_holes = 'even-odd';
  if (opts.spacingOrder === 'correct') settings.pixel_spacing_order = 'correct';
  if (opts.reorient) settings.reorient = true;
  if (opts.allowMissingDose) settings.allow_missing_dose = true;
  summary.settings = settings;
  const summaryFile = path.join(outputDir, 'batch_summary.json');
  await writeJsonAtomic(summaryFile, summary);
  return { summaryFile, summary, results, failures, warnings };
}
