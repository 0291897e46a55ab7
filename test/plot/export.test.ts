import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { closeExporter, exportFigure, findChromium } from '../../lib/plot/export';
import { gammaBarFigure } from '../../lib/plot/metric_figures';

const chromium = findChromium();
after(async () => {
  await closeExporter();
});

test(
  'export writes a 300 dpi PNG and a vector PDF with embedded fonts',
  { skip: chromium ? false : 'Chromium not installed (bash scripts/setup.sh installs it)' },
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-plot-export-'));
    try {
      const fig = gammaBarFigure({ caseIds: ['a', 'b'], globalPct: [30, 40], ptvPct: [96, 88] });
      const written = await exportFigure(fig, dir);
      assert.deepEqual(
        written.map((p) => path.basename(p)),
        [`${fig.name}.png`, `${fig.name}.pdf`],
      );
      const png = fs.readFileSync(written[0]);
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
      // IHDR width/height = CSS size x 300/96
      assert.equal(png.readUInt32BE(16), Math.round((fig.width * 300) / 96));
      assert.equal(png.readUInt32BE(20), Math.round((fig.height * 300) / 96));
      const pdf = fs.readFileSync(written[1]);
      assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
      const text = pdf.toString('latin1');
      assert.match(text, /\/FontFile2|\/FontFile3|\/FontFile\b/, 'fonts embedded');
      assert.doesNotMatch(text, /\/Subtype\s*\/Image[\s\S]{0,200}\/Width\s+\d{4}/, 'not a full-page raster');
      assert.ok(!fs.readdirSync(dir).some((n) => n.endsWith('.tmp')), 'no temporaries left');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);
