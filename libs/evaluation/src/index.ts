// Public API of @fedxray/evaluation: mergeable evaluation summaries, the metrics they determine, reports.
export { createSummary, addPredictions, mergeSummaries, checkSummary } from './summary';
export type { EvaluationSummary, SummaryOptions } from './summary';
export { computeMetrics } from './metrics';
export type { Metrics, ClassMetrics, AveragedMetrics } from './metrics';
export { exactAuc, histogramAuc } from './auc';
export type { RocCurve, HistogramAuc } from './auc';
export { DEFAULT_BINS, DEFAULT_CALIBRATION_BINS, binEdges, scoreBin } from './bins';
export { EvaluationError } from './errors';
export { writeReport } from './report/write';
export type { ReportInput, ReportResult, LossAccuracy } from './report/types';
