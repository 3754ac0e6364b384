// Resuming from the newest checkpoint that is intact: a latest checkpoint that
// is truncated or altered on disk is passed over for the one before it, and the
// rounds after the one used are run again.
import type { NamedWeights } from '@fedxray/protocol';
import type { Logger } from './log';
import type { RunFiles } from './run-files';
import type { RunRow, RunStore } from './store';

export interface ResumePoint {
  global: NamedWeights;
  strategyState: NamedWeights | null;
  /** The checkpoint folder it came from. */
  checkpoint: string;
}

/**
 * The checkpoint a resumed run continues from: the run's latest if it passes
 * its checksums and loads, else the newest earlier one that does (or the
 * initial model, null, when none does). Falling back logs which checkpoint
 * was used and which rounds are redone, records a `checkpoint_fallback`
 * event, and moves the run back in the store.
 */
export async function resumePoint(files: RunFiles, store: RunStore, run: RunRow, logger: Logger): Promise<ResumePoint | null> {
  if (!run.checkpoint || run.completedRounds === 0) return null;
  const candidates = [
    { round: run.completedRounds, dir: run.checkpoint },
    ...files
      .checkpointRounds()
      .filter((r) => r < run.completedRounds)
      .map((round) => ({ round, dir: files.checkpointDir(round) })),
  ];
  const damaged: { checkpoint: string; error: string }[] = [];
  for (const { round, dir } of candidates) {
    try {
      const loaded = await files.readCheckpoint(dir);
      if (!loaded.verified) logger.log('warn', 'checkpoint has no checksum manifest (written by an older version); loaded unverified', { checkpoint: dir });
      if (damaged.length > 0) fallBack(store, run, round, dir, damaged, logger);
      return { global: loaded.global, strategyState: loaded.strategyState, checkpoint: dir };
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      logger.log('error', 'checkpoint damaged', { checkpoint: dir, round, error });
      damaged.push({ checkpoint: dir, error });
    }
  }
  fallBack(store, run, 0, null, damaged, logger);
  return null;
}

function fallBack(store: RunStore, run: RunRow, round: number, checkpoint: string | null, damaged: { checkpoint: string; error: string }[], logger: Logger): void {
  const redone = Array.from({ length: run.completedRounds - round }, (_, i) => round + 1 + i);
  const data = { runId: run.id, usedCheckpoint: checkpoint ?? 'the initial model', round, redoneRounds: redone, damaged };
  store.rewindRun(run.id, round, checkpoint);
  store.addEvent(run.id, 'warn', 'checkpoint_fallback', data);
  logger.log('warn', `resuming from ${checkpoint ? `the checkpoint of round ${round}` : 'the initial model'}; rounds ${redone.join(', ')} will be redone`, data);
}
