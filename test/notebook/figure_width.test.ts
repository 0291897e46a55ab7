/**
 * The figure-width check of the notebook tests can fail: a figure drawn at its export size
 * (responsive: false) overflows a 1280 px output area, the responsive default does not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { figureHtml, plotlyLoaderHtml } from '../../lib/plot/html';
import { trainingCurvesFigure } from '../../lib/plot/training_curves';
import { parseMetricsCsv } from '../../lib/plot/training_history';
import { findChromium } from '../../lib/plot/export';
import { renderedFigures } from './helpers';

test(
  'responsive figures fit a 1280 px output area; export-size figures would overflow it',
  { skip: findChromium() ? false : 'Chromium is not installed', timeout: 120_000 },
  async () => {
    const fig = trainingCurvesFigure(parseMetricsCsv('epoch,train_loss,val_loss,val_mae_gy\n0,1,2,10\n1,0.5,1.5,8\n'));
    assert.ok(fig.width > 1280, `the training-curve figure exports wider than the output area (${fig.width} px)`);
    const html = figureHtml(fig);
    const spec = JSON.parse(/var spec=(\{[\s\S]*?\});\nfunction draw/.exec(html)![1]) as {
      layout: Record<string, unknown>;
      config: Record<string, unknown>;
    };
    assert.equal(spec.layout.width, undefined, 'no fixed width in the displayed layout');
    assert.equal(spec.layout.autosize, true);
    assert.equal(spec.config.responsive, true);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmat-figwidth-'));
    try {
      const file = path.join(dir, 'page.html');
      const area = (inner: string) => `<div style="width:1280px">${inner}</div>`;
      fs.writeFileSync(
        file,
        `<!doctype html><html><body style="margin:0">${plotlyLoaderHtml()}${area(figureHtml(fig, { responsive: false }))}${area(html)}</body></html>`,
      );
      const [fixed, responsive] = (await renderedFigures(file))!;
      assert.ok(fixed.width > fixed.areaWidth, `export size ${fixed.width} px overflows ${fixed.areaWidth} px`);
      assert.ok(
        responsive.width <= responsive.areaWidth && responsive.svgWidth <= responsive.width + 0.5,
        JSON.stringify(responsive),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);
