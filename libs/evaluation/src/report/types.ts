import type { EvaluationSummary } from '../summary';

export interface LossAccuracy {
  loss: number;
  accuracy: number;
}

/** What a report is made from. Every summary is over the same classes, in the same order. */
export interface ReportInput {
  title: string;
  classes: string[];
  /** Learning curves: the global model's pooled metrics and each site's, per round. */
  rounds: { round: number; global?: LossAccuracy; sites?: Record<string, LossAccuracy> }[];
  final: {
    test: EvaluationSummary;
    /** What the report calls the `test` summary's split, e.g. 'val' when a held-out validation split was evaluated. @default 'test' */
    testName?: string;
    val?: EvaluationSummary;
    /** Training metrics as the last round reported them (on augmented batches). */
    train?: LossAccuracy;
  };
  /** The final model evaluated on each site's own test split. */
  perSite?: Record<string, EvaluationSummary>;
  /** accuracy[i][j]: the model of models[i] (default: sites[i]) on the data of sites[j]. */
  crossSite?: { sites: string[]; models?: string[]; accuracy: number[][] };
  /** A reference to compare with, e.g. the single-site study's test accuracy. */
  baseline?: LossAccuracy;
  config?: Record<string, unknown>;
}

export interface ReportResult {
  /** Paths of the files written: report.json, report.md, then the charts. */
  files: string[];
}
