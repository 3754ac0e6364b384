import type { PrivacySummary } from './privacy-account';

/** What the dashboard and the JSON API see of a run: plain JSON, no tensors. */
export type HospitalJobStatus = 'pending' | 'training' | 'calibrating' | 'evaluating' | 'done' | 'failed';

export interface JobProgress {
  epoch: number;
  epochs: number;
  done: number;
  total: number;
  loss?: number;
}

export interface HospitalState {
  name: string;
  connected: boolean;
  lastSeen: number | null;
  backend: string | null;
  software: string | null;
  examples: { train: number; val: number; test: number } | null;
  lastLoss: number | null;
  lastAccuracy: number | null;
  failures: number;
  roundsContributed: number;
}

export interface RoundState {
  round: number;
  attempt: number;
  phase: 'waiting' | 'fit' | 'aggregate' | 'calibrate' | 'evaluate' | 'done' | 'failed';
  startedAt: number;
  jobs: { name: string; status: HospitalJobStatus; progress: JobProgress | null; error?: string }[];
}

export interface SiteRoundMetrics {
  examples: number;
  loss: number;
  accuracy: number;
}

/** A hospital's job that failed: no answer in time, gone, refused by a check, or a failure it reported. */
export interface FailedJob {
  hospital: string;
  phase: 'fit' | 'calibrate' | 'evaluate';
  error: string;
  /** A check refused what the hospital sent (its update, statistics or numbers were not used); absent for other failures. */
  refused?: true;
}

/** What a round's fit phase produced. */
export interface FitRecord {
  /** Mean train loss and accuracy of the accepted updates, weighted by examples. */
  loss: number;
  accuracy: number;
  /** Examples of the accepted updates. */
  examples: number;
  /** Hospitals whose updates arrived and passed every check. */
  hospitals: string[];
  /** Hospitals whose updates shaped the new global model (the strategy's choice: Krum and MultiKrum keep only some). */
  used: string[];
  /** Accepted updates the strategy left out. */
  discarded: string[];
  failures: { name: string; error: string }[];
  /** Hospitals whose BatchNorm statistics were pooled into the global model. */
  calibratedBy?: string[];
  /** Hospitals whose class statistics the last layer was recalibrated on (head calibration). */
  headCalibratedBy?: string[];
  /** What trained this round (`all`, `head`, `from:<layer>`), when the run says. */
  trainable?: string;
  /** Weight bytes of the fit phase: global models sent to hospitals, updates received from them (refused ones too). */
  transport?: { uploadBytes: number; downloadBytes: number };
}

export interface RoundRecord {
  round: number;
  attempt: number;
  startedAt: number;
  durationMs: number;
  fit: FitRecord;
  /** Pooled metrics of the global model over every site's evaluation split; null when the round was not evaluated, or its evaluation failed. */
  metrics: Record<string, number> | null;
  /** Why the round's evaluation gave no metrics (absent when it did, or was not scheduled). */
  evaluationError?: string;
  sites: Record<string, SiteRoundMetrics>;
  fitSites: Record<string, SiteRoundMetrics>;
  /** Every job of this attempt that failed, in any phase. */
  failedJobs: FailedJob[];
}

export interface RunState {
  run: {
    id: string;
    status: 'running' | 'complete' | 'failed' | 'stopped';
    rounds: number;
    completedRounds: number;
    startedAt: number;
    config: Record<string, unknown>;
    error: string | null;
  };
  current: RoundState | null;
  hospitals: HospitalState[];
  history: RoundRecord[];
  /** Pooled metrics of the initial model, when the run evaluates it before round 1. */
  initial: Record<string, number> | null;
  confusion: { classes: string[]; matrix: number[][] } | null;
  /** With secure aggregation or DP: whether updates are summed, and ε spent so far (summary.json's `privacy`); null otherwise. */
  privacy?: PrivacySummary | null;
}
