/** The figure library: Plotly figure specs for the standard figure set, HTML and static export. */
export * from './figure';
export * from './style';
export * from './slices';
export * from './training_history';
export * from './training_curves';
export * from './dose_maps';
export * from './dvh_figure';
export * from './metric_figures';
export * from './html';
export {
  exportFigure,
  exportFigures,
  closeExporter,
  findChromium,
  type ExportFormat,
  type ExportOptions,
} from './export';
export * from './dvh_curve';
export * from './slice_viewer';
