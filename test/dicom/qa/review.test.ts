/**
 * `vmat qa-review` on a small synthetic DICOM cohort with the problems a QA session looks for:
 * a clinic-local ROI name the mapping does not know (Rectum renamed "RECT_WALL_local"), a case
 * without RTDOSE and a folder that is not DICOM. The manifest lists matched / unmatched / missing
 * structures, Rx and its source, the dose grid and warnings per case; the PDF contact sheet has
 * the expected pages; a mapping override written from the review makes the ROI match, and
 * `vmat preprocess --mapping-file` (when merged) then fills the Rectum channel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadOarMapping } from '../../../lib/dicom/roi_mapping';
import { runQaReview } from '../../../lib/dicom/qa/review';
import { writeMappingOverride } from '../../../lib/dicom/qa/mapping_override';
import { renameRois } from '../../../lib/dicom/write/edit';
import { findChromium, closeExporter } from '../../../lib/plot/export';
import { synthesizeCase } from '../../../lib/synth/synth_case';
import { writeSynthCaseDicom } from '../../../lib/synth/dicom/export_case';
import { ROOT } from '../helpers';

test(
  'qa-review: manifest, contact sheet and a mapping override that preprocess uses',
  { timeout: 180_000 },
  async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-qa-'));
    try {
      const mapping = loadOarMapping();
      const input = path.join(tmp, 'in');
      const roiNames: Record<string, Record<string, string>> = {};
      for (const [id, planType] of [
        ['case_a', 'sib_2level'],
        ['case_b', 'single_rx'],
        ['case_c', 'single_rx'],
      ] as const) {
        const r = synthesizeCase({ id, seed: 11, planType, layout: 'v2.4', shape: [32, 32, 24] });
        roiNames[id] = (await writeSynthCaseDicom(r.case, input, { mapping })).roiNames;
      }
      await renameRois(path.join(input, 'case_a', 'RS.case_a.dcm'), { [roiNames.case_a.Rectum]: 'RECT_WALL_local' });
      fs.rmSync(path.join(input, 'case_b', 'RD.case_b.dcm'));
      fs.writeFileSync(path.join(input, 'case_c', 'RS.case_c.dcm'), 'not a DICOM file');
      const pdf = findChromium() !== null;
      const out = path.join(tmp, 'qa');
      const r = await runQaReview({ inputDir: input, outDir: out, mapping, pdf, quiet: true, casesPerPage: 2 });
      const m = JSON.parse(fs.readFileSync(path.join(out, 'qa_manifest.json'), 'utf8'));
      assert.deepEqual(m, JSON.parse(JSON.stringify(r.manifest)));
      assert.equal(m.summary.cases, 3);
      const [a, b, c] = m.cases;
      assert.equal(a.case_id, 'case_a');
      assert.equal(a.status, 'ok');
      assert.ok(a.unmatched.includes('RECT_WALL_local') && a.unmatched.includes('BODY'));
      assert.ok(a.missing.includes('Rectum'));
      assert.deepEqual(a.matched.PTV70, [roiNames.case_a.PTV70]);
      assert.deepEqual(a.matched.PTV56, [roiNames.case_a.PTV56]);
      assert.deepEqual(a.prescription, {
        primary_dose: 70,
        fractions: 28,
        dose_per_fraction: 2.5,
        source: 'DoseReferenceSequence',
      });
      assert.deepEqual(a.ct.spacing_mm, [3.90625, 3.90625, 2.5]);
      assert.deepEqual(a.dose_grid.spacing_mm.slice(0, 2), [7.8125, 7.8125]);
      assert.ok(a.dose_grid.max_gy > 70 && a.dose_grid.max_gy < 90, `max ${a.dose_grid.max_gy}`);
      assert.equal(a.review_slice.through, 'PTV70 centroid');
      assert.equal(b.dose_grid, null);
      assert.ok(b.warnings.some((w: string) => /no RTDOSE/.test(w)));
      assert.ok(b.missing.includes('PTV56'));
      assert.equal(c.status, 'error');
      assert.match(c.error, /RS\.case_c\.dcm: expected a DICOM Part-10 file/);
      assert.equal(m.summary.errors, 1);
      assert.equal(m.summary.unmatched_rois.RECT_WALL_local, 1);
      if (pdf) {
        const bytes = fs.readFileSync(path.join(out, 'qa_contact_sheet.pdf'));
        assert.equal(bytes.subarray(0, 5).toString(), '%PDF-');
        const pages = (bytes.toString('latin1').match(/\/Type\s*\/Page[^s]/g) ?? []).length;
        assert.equal(pages, 2, '3 cases at 2 per page');
      }
      // the override: the local name joins the Rectum channel; the review then matches it
      const override = path.join(tmp, 'mapping_override.json');
      await writeMappingOverride(override, mapping, { RECT_WALL_local: 'Rectum' });
      const again = await runQaReview({
        inputDir: input,
        outDir: path.join(tmp, 'qa2'),
        mapping: loadOarMapping(override),
        pdf: false,
        quiet: true,
      });
      assert.deepEqual(again.manifest.cases[0].matched.Rectum, ['RECT_WALL_local']);
      assert.ok(!again.manifest.cases[0].missing.includes('Rectum'));
      // ... and vmat preprocess uses it
      if (fs.existsSync(path.join(ROOT, 'lib', 'cli', 'commands', 'preprocess.ts'))) {
        fs.rmSync(path.join(input, 'case_c'), { recursive: true });
        const pre = path.join(tmp, 'pre');
        const p = spawnSync(
          process.execPath,
          [
            path.join(ROOT, 'bin/vmat.js'),
            'preprocess',
            '--input-dir',
            input,
            '--output-dir',
            pre,
            '--skip-plots',
            '--allow-missing-dose',
            '--mapping-file',
            override,
          ],
          { encoding: 'utf8' },
        );
        assert.equal(p.status, 0, p.stderr);
        const { readReferenceNpz } = await import('../../../lib/data/reference_npz');
        const ca = await readReferenceNpz(path.join(pre, 'case_a.npz'));
        assert.ok(ca.masks.has('Rectum'), 'the overridden ROI fills the Rectum channel');
      }
    } finally {
      await closeExporter();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  },
);
