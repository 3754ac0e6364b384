import type { NamedWeights } from '@fedxray/protocol';
import type { JobProgress, RoundRecord } from './state';

/** What a coordinator tells its listeners (the CLI, the simulation, tests). */
export interface CoordinatorEvents {
  listening: [{ url: string }];
  hospital: [{ name: string; event: 'joined' | 'left' | 'refused'; reason?: string }];
  roundStart: [{ round: number; attempt: number; hospitals: string[] }];
  progress: [{ round: number; hospital: string; progress: JobProgress }];
  /** An update that passed validation, before aggregation (listen only in tests or audits: it holds a model's worth of memory). */
  update: [{ round: number; hospital: string; examples: number; weights: NamedWeights }];
  fitResult: [{ round: number; hospital: string; ok: boolean; error?: string; metrics?: { loss: number; accuracy: number }; examples?: number }];
  /** An update a check refused: it never reached the strategy. */
  updateRefused: [{ round: number; hospital: string; code: string; message: string }];
  /** A hospital's job that failed, in any phase: no answer in time, gone, a refused result, or a failure it reported. */
  jobFailed: [{ round: number; attempt: number; hospital: string; phase: 'fit' | 'calibrate' | 'evaluate'; error: string }];
  roundEnd: [RoundRecord];
  roundFailed: [{ round: number; attempt: number; reason: string }];
  runEnd: [RunResult];
  state: [];
}

/** One round's aggregation: finish()'s wall time, the strategy's memory before it, the updates folded, and whether the result reused the retired global. */
export interface AggregationRecord {
  round: number;
  ms: number;
  retainedBytes: number;
  recycled: boolean;
  updates: number;
}

export interface RunResult {
  runId: string;
  status: 'complete' | 'failed' | 'stopped';
  rounds: RoundRecord[];
  final: Record<string, number> | null;
  runDir: string;
  modelDir: string | null;
  error?: string;
}
