import type { RunResult } from '@fedxray/coordinator';
import { fmt } from './progress';

/** The coordinator's line when a run ends: complete with its final accuracy and model, or failed with why. */
export function describeFinish(result: RunResult): string {
  if (result.status === 'complete') return `Run ${result.runId} complete: final accuracy ${fmt(result.final?.accuracy)}; model in ${result.modelDir}`;
  return `Run ${result.runId} ${result.status}: ${result.error ?? 'no reason recorded'}`;
}

/** The exit code once a finished run stops being served: 0 when it completed, 1 when it failed. */
export function finishedExitCode(result: RunResult): number {
  return result.status === 'complete' ? 0 : 1;
}
