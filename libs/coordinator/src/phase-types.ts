// What the calibration and evaluation phases are given and give back, plain
// or summed (calibrate.ts, evaluate.ts, secure-phases.ts).
import { computeMetrics, type EvaluationSummary } from '@fedxray/evaluation';
import type { CoordinatorConfig } from './config';
import type { Hub } from './hub';
import type { Recorder } from './record';
import type { SiteRoundMetrics } from './state';
import type { PhaseCounters } from './view';

export interface CalibrationPhase {
  runId: string;
  config: CoordinatorConfig;
  manifest: { name: string; shape: number[] }[];
  keepLocal: ReadonlySet<string>;
  /** Tensors frozen this round: their BatchNorm statistics stay as they are (e.g. ImageNet's under a frozen backbone). */
  frozen?: ReadonlySet<string>;
  /** What trained this round, so that every hospital freezes the same layers while it collects. */
  trainable?: string;
  hub: Hub;
  recorder: Recorder;
  counters: PhaseCounters;
  /** Hospitals that left their fit job of this round unanswered: not asked. */
  silent: ReadonlySet<string>;
}

export interface EvaluationPhase {
  runId: string;
  config: CoordinatorConfig;
  classes: readonly string[];
  hub: Hub;
  recorder: Recorder;
  counters: PhaseCounters;
  /** How long the evaluation may take from its start (its share of the round's deadline). */
  timeoutMs: number;
  /** Hospitals that left their fit job of this round unanswered: not asked. */
  silent?: ReadonlySet<string>;
}

export interface Evaluation {
  /** Pooled metrics, or null when the evaluation failed (see `error`) or nobody evaluated. */
  metrics: Record<string, number> | null;
  pooled: EvaluationSummary | null;
  /** Each hospital's valid, non-empty summary and what it says. */
  summaries: Map<string, EvaluationSummary>;
  sites: Record<string, SiteRoundMetrics>;
  error?: string;
}

/** The metrics a round records of a pooled summary. */
export function pooledMetrics(pooled: EvaluationSummary): Record<string, number> {
  const m = computeMetrics(pooled);
  return { accuracy: m.accuracy, loss: m.loss, balancedAccuracy: m.balancedAccuracy, macroF1: m.macro.f1, macroAuc: m.macroAuc, kappa: m.kappa, ece: m.ece, examples: pooled.count };
}

