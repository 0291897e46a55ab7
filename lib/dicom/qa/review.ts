/**
 * `vmat qa-review`: every case folder of an input folder reviewed (review_case.ts), a manifest
 * `qa_manifest.json` and a PDF contact sheet `qa_contact_sheet.pdf` in the output folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeJsonAtomic } from '../../core/atomic';
import { DataError } from '../../core/errors';
import { createProgress } from '../../core/progress';
import { codePointCompare } from '../../data/load';
import { type OarMapping } from '../roi_mapping';
import { contactSheetPages } from './contact_sheet';
import { writePdfPages } from './pdf_pages';
import { type CaseManifest, type CaseReview, reviewCase } from './review_case';

export interface QaReviewOptions {
  inputDir: string;
  outDir: string;
  mapping: OarMapping;
  casesPerPage?: number;
  /** write the PDF contact sheet (default true; needs Chromium) */
  pdf?: boolean;
  onProgress?: (done: number, total: number, info: string) => void;
  quiet?: boolean;
}

export interface QaManifest {
  input_dir: string;
  mapping_file: string;
  summary: {
    cases: number;
    ok: number;
    errors: number;
    with_warnings: number;
    missing: Record<string, number>;
    unmatched_rois: Record<string, number>;
  };
  cases: CaseManifest[];
}

export interface QaReviewResult {
  manifest: QaManifest;
  manifestFile: string;
  pdfFile: string | null;
  reviews: CaseReview[];
}

/** the case folders of `dir` (immediate sub-folders, hidden ones skipped), sorted as preprocess sorts them */
export function caseFolders(dir: string): string[] {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
    throw new DataError(dir, null, 'a folder of case folders', 'no such folder');
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter(
      (e) =>
        !e.name.startsWith('.') &&
        (e.isDirectory() || (e.isSymbolicLink() && fs.statSync(path.join(dir, e.name)).isDirectory())),
    )
    .map((e) => e.name)
    .sort(codePointCompare)
    .map((n) => path.join(dir, n));
}

/** Reviews every case and writes the manifest and (by default) the contact sheet. */
export async function runQaReview(o: QaReviewOptions): Promise<QaReviewResult> {
  const dirs = caseFolders(o.inputDir);
  if (!dirs.length) throw new DataError(o.inputDir, null, 'case folders (one sub-folder per case)', 'no sub-folders');
  const progress = createProgress({ label: 'qa-review', total: dirs.length, onUpdate: o.onProgress, quiet: o.quiet });
  const reviews: CaseReview[] = [];
  try {
    for (const d of dirs) {
      const r = reviewCase(d, o.mapping);
      reviews.push(r);
      progress.tick(1, `${r.manifest.case_id} ${r.manifest.status}`);
    }
  } finally {
    progress.stop();
  }
  const missing: Record<string, number> = {};
  const unmatched: Record<string, number> = {};
  for (const r of reviews) {
    for (const m of r.manifest.missing) missing[m] = (missing[m] ?? 0) + 1;
    for (const u of r.manifest.unmatched) unmatched[u] = (unmatched[u] ?? 0) + 1;
  }
  const manifest: QaManifest = {
    input_dir: path.resolve(o.inputDir),
    mapping_file: o.mapping.file,
    summary: {
      cases: reviews.length,
      ok: reviews.filter((r) => r.manifest.status === 'ok').length,
      errors: reviews.filter((r) => r.manifest.status === 'error').length,
      with_warnings: reviews.filter((r) => r.manifest.warnings.length > 0).length,
      missing,
      unmatched_rois: unmatched,
    },
    cases: reviews.map((r) => r.manifest),
  };
  const manifestFile = path.join(o.outDir, 'qa_manifest.json');
  await writeJsonAtomic(manifestFile, manifest);
  let pdfFile: string | null = null;
  if (o.pdf !== false) {
    pdfFile = path.join(o.outDir, 'qa_contact_sheet.pdf');
    await writePdfPages(contactSheetPages(reviews, { casesPerPage: o.casesPerPage }), pdfFile);
  }
  return { manifest, manifestFile, pdfFile, reviews };
}
