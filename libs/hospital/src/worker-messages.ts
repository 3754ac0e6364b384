// The messages between a WorkerTrainer and its thread (worker-entry.ts): one
// call per LocalTrainer method, and the thread's answers, as typed unions.
import type { CalibrationTarget, FitConfig, NamedWeights } from '@fedxray/protocol';
import type { EvaluationSummary } from '@fedxray/evaluation';
import type { TrainerOptionsInput } from './config';
import type { DatasetFacts, FitOutcome, FitProgress } from './trainer';

/** What the thread is started with (`workerData`). */
export interface TrainerWorkerData {
  options: TrainerOptionsInput;
}

/** A call into the trainer thread; `abort` is not answered. */
export type TrainerCall =
  | { id: number; method: 'setup'; args: [spec: Record<string, unknown>, runClasses: string[]] }
  | { id: number; method: 'fit'; args: [weights: NamedWeights | null, config: FitConfig] }
  | { id: number; method: 'evaluate'; args: [weights: NamedWeights | null, split: 'val' | 'test'] }
  | { id: number; method: 'calibrate'; args: [weights: NamedWeights, maxExamples: number, trainable?: string, target?: CalibrationTarget] }
  | { id: number; method: 'close'; args: [] }
  | { id: number; method: 'abort'; args: [] };

/** The answer to one call, by method. */
export type TrainerResult =
  | { type: 'result'; id: number; method: 'setup' | 'close' }
  | { type: 'result'; id: number; method: 'fit'; result: FitOutcome }
  | { type: 'result'; id: number; method: 'evaluate'; result: EvaluationSummary }
  | { type: 'result'; id: number; method: 'calibrate'; result: { stats: NamedWeights; examples: number } };

/** Everything the thread sends: that it is ready (or could not start), progress of a call, its result or its error. */
export type FromTrainer =
  | { type: 'ready'; facts: DatasetFacts; backend: string }
  | { type: 'startFailed'; error: string }
  | { type: 'progress'; id: number; progress: FitProgress }
  | TrainerResult
  | { type: 'error'; id: number; error: string };
