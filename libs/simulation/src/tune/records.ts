// The records a tune keeps in tune.json: trials, their outcomes, the analysis.
import type { FactorEffect } from './analysis';
import type { TuneDesign } from './config';

/** The factor values of one trial. */
export interface TrialSettings {
  optimizer: string;
  learningRate: number;
  dropout: number;
  activation: string;
}

export interface TrialPlan {
  /** 1-based trial number, the row of the array. */
  trial: number;
  /** Level index (0, 1, 2) of each factor, in column order. */
  levels: number[];
  settings: TrialSettings;
}

export interface TrialOutcome {
  status: 'complete' | 'failed';
  /** Training accuracy of the last round (mean over the hospitals, weighted by examples). */
  trainAccuracy: number | null;
  trainLoss: number | null;
  /** Accuracy of the final global model on every hospital's test split, pooled. */
  testAccuracy: number | null;
  testLoss: number | null;
  error?: string;
}

export interface TrialRecord extends TrialPlan, TrialOutcome {
  /** The trial's run directory, relative to the tune's out directory. */
  runDir: string;
  durationMs: number;
  finishedAt: string;
}

export interface DataFingerprint {
  images: number;
  /** sha256 over the sorted class/path/content-hash lines, hex. */
  sha256: string;
}

export interface TuneAnalysis {
  effects: FactorEffect[];
  /** Best level of each factor by S/N. */
  recommended: TrialSettings;
  /** Whether the recommended combination is one of the trials (it often is not). */
  recommendedTrial: number | null;
  /** Additive-model prediction for the recommended combination. */
  predicted: { sn: number; testAccuracy: number };
  /** The trial with the highest test accuracy. */
  bestTrial: number;
  meanSn: number;
  meanTestAccuracy: number;
}

export interface TuneFile {
  format: 'fedxray-tune/1';
  design: TuneDesign['design'];
  factors: TuneDesign['factors'];
  centralized: boolean;
  /** The images every trial trains on; a resume must find the same. */
  dataFingerprint: DataFingerprint;
  /** The settings every trial shares; a resume must match them exactly. */
  settings: Record<string, unknown>;
  trials: TrialRecord[];
  complete: boolean;
  analysis: TuneAnalysis | null;
  updatedAt: string;
}
