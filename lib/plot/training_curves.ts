/**
 * Figure 1 (spec 9.2): (A) train and validation loss with the best epoch (argmin val MAE) marked
 * and the final val/train overfit ratio; (B) validation MAE (left axis) and gamma pass rate
 * (right axis) with a star at the best epoch.
 */
import { axisStyle, baseLayout, WONG } from './style';
import { inches, panelDomains, panelTitle, round, type FigureSpec, type Trace } from './figure';
import { argminDefined, lastDefined, type TrainingHistory } from './training_history';

/** Figure 1: (A) train/val loss with the best epoch marked, (B) val MAE (Gy) and gamma pass rate (%) per epoch. */
export function trainingCurvesFigure(h: TrainingHistory, opts: { title?: string } = {}): FigureSpec {
  const [dA, dB] = panelDomains(2, 0.14);
  const best = argminDefined(h.valMae);
  const bestEpoch = best >= 0 ? h.epoch[best] : null;
  const data: Trace[] = [
    {
      type: 'scatter',
      mode: 'lines+markers',
      name: 'Train loss',
      x: h.epoch,
      y: h.trainLoss,
      xaxis: 'x',
      yaxis: 'y',
      line: { color: WONG.blue, width: 2, dash: 'solid' },
      marker: { symbol: 'circle', size: 4 },
      connectgaps: true,
    },
    {
      type: 'scatter',
      mode: 'lines+markers',
      name: 'Val loss',
      x: h.epoch,
      y: h.valLoss,
      xaxis: 'x',
      yaxis: 'y',
      line: { color: WONG.orange, width: 2, dash: 'dash' },
      marker: { symbol: 'square', size: 4 },
      connectgaps: true,
    },
    {
      type: 'scatter',
      mode: 'lines+markers',
      name: 'Val MAE (Gy)',
      x: h.epoch,
      y: h.valMae,
      xaxis: 'x2',
      yaxis: 'y2',
      line: { color: WONG.blue, width: 2, dash: 'solid' },
      marker: { symbol: 'circle', size: 4 },
      connectgaps: true,
    },
  ];
  const hasGamma = h.valGamma.some((v) => v !== null);
  const hasPtvGamma = (h.valGammaPtv ?? []).some((v) => v !== null);
  const hasValLoss = h.valLoss.some((v) => v !== null);
  if (!hasValLoss) data.splice(1, 1); // no empty legend entry for a loss that was not logged
  if (hasPtvGamma) {
    data.push({
      type: 'scatter',
      mode: 'lines+markers',
      name: 'Val PTV-region gamma (%)',
      x: h.epoch,
      y: h.valGammaPtv,
      xaxis: 'x2',
      yaxis: 'y3',
      line: { color: WONG.orange, width: 2, dash: 'dot' },
      marker: { symbol: 'triangle-up', size: 5 },
      connectgaps: true,
    });
  }
  if (hasGamma) {
    data.push({
      type: 'scatter',
      mode: 'lines+markers',
      name: 'Val gamma 3%/3mm (%)',
      x: h.epoch,
      y: h.valGamma,
      xaxis: 'x2',
      yaxis: 'y3',
      line: { color: WONG.green, width: 2, dash: 'dash' },
      marker: { symbol: 'diamond', size: 4 },
      connectgaps: true,
    });
  }
  const annotations: Array<Record<string, unknown>> = [
    panelTitle(hasValLoss ? '(A) Training and Validation Loss' : '(A) Training Loss (no validation loss logged)', dA),
    panelTitle(hasGamma || hasPtvGamma ? '(B) Validation MAE and Gamma Pass Rate' : '(B) Validation MAE', dB),
  ];
  const shapes: Array<Record<string, unknown>> = [];
  if (bestEpoch !== null) {
    shapes.push({
      type: 'line',
      xref: 'x',
      yref: 'y domain',
      x0: bestEpoch,
      x1: bestEpoch,
      y0: 0,
      y1: 1,
      line: { color: '#555', dash: 'dash', width: 1.5 },
    });
    const mae = h.valMae[best] as number;
    data.push({
      type: 'scatter',
      mode: 'markers',
      name: `Best epoch ${bestEpoch}`,
      x: [bestEpoch],
      y: [mae],
      xaxis: 'x2',
      yaxis: 'y2',
      marker: { symbol: 'star', size: 16, color: WONG.red, line: { color: '#000', width: 1 } },
    });
    annotations.push({
      xref: 'x2',
      yref: 'y2',
      x: bestEpoch,
      y: mae,
      text: `best: epoch ${bestEpoch}, ${round(mae, 2)} Gy`,
      showarrow: true,
      arrowhead: 2,
      ax: 40,
      ay: -35,
      font: { size: 11 },
    });
  }
  const finalTrain = lastDefined(h.trainLoss);
  const finalVal = lastDefined(h.valLoss);
  if (finalTrain !== null && finalVal !== null && finalTrain > 0) {
    annotations.push({
      xref: 'x domain',
      yref: 'y domain',
      x: 0.98,
      y: 0.95,
      xanchor: 'right',
      showarrow: false,
      text: `Overfit ratio (final val/train loss): ${round(finalVal / finalTrain, 2)}`,
      bgcolor: 'rgba(255,255,255,0.85)',
      bordercolor: '#999',
      borderwidth: 1,
      font: { size: 11 },
    });
  }
  const width = inches(14),
    height = inches(5);
  const layout = baseLayout(opts.title ?? 'Training curves', width, height, {
    xaxis: axisStyle({ domain: dA, anchor: 'y', title: { text: 'Epoch' }, dtick: epochTick(h.epoch) }),
    yaxis: axisStyle({ anchor: 'x', title: { text: 'Loss' } }),
    xaxis2: axisStyle({ domain: dB, anchor: 'y2', title: { text: 'Epoch' }, dtick: epochTick(h.epoch) }),
    yaxis2: axisStyle({ anchor: 'x2', title: { text: 'MAE (Gy)', font: { color: WONG.blue } } }),
    ...(hasGamma || hasPtvGamma
      ? {
          yaxis3: axisStyle({
            anchor: 'x2',
            overlaying: 'y2',
            side: 'right',
            showgrid: false,
            title: { text: 'Gamma pass rate (%)', font: { color: WONG.green } },
          }),
        }
      : {}),
    shapes,
    annotations,
    legend: { orientation: 'h', x: 0.5, xanchor: 'center', y: -0.18, font: { size: 11 } },
    margin: { l: 70, r: 70, t: 80, b: 90 },
  });
  return { name: 'fig1_training_curves', data, layout, width, height };
}

/** integer epoch ticks: at most ~10 of them */
function epochTick(epochs: number[]): number {
  const span = epochs.length ? epochs[epochs.length - 1] - epochs[0] : 1;
  return Math.max(1, Math.ceil(span / 10));
}
