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

export interface RoundRecord {
  round: number;
  attempt: number;
  startedAt: number;
  durationMs: number;
  fit: { loss: number; accuracy: number; examples: number; hospitals: string[]; failures: { name: string; error: string }[]; calibratedBy?: string[] };
  /** Pooled metrics of the global model over every site's evaluation split. */
  metrics: Record<string, number> | null;
  sites: Record<string, SiteRoundMetrics>;
  fitSites: Record<string, SiteRoundMetrics>;
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
}
