// Which run a start serves: the one it names, the unfinished one it finds (if
// its settings match), or a new one. A new run is stored only here, after the
// whole configuration was checked.
import { randomUUID } from 'node:crypto';
import type { Logger } from './log';
import { ConfigError, persistedConfig, resumedConfig, runDifferences, type ResolvedConfig } from './run-config';
import type { RunStore } from './store';

export interface OpenedRun {
  runId: string;
  /** The run's configuration: its stored one (with this start's serving fields) when resumed. */
  run: ResolvedConfig;
  /** True when this start created the run (and should remove it if the start fails). */
  created: boolean;
}

function newRunId(): string {
  return `run-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${randomUUID().slice(0, 6)}`;
}

export function openRun(store: RunStore, start: ResolvedConfig, logger: Logger): OpenedRun {
  const cfg = start.config;
  const create = (runId: string): OpenedRun => {
    store.createRun(runId, persistedConfig(cfg));
    return { runId, run: start, created: true };
  };
  const resume = (runId: string, completedRounds: number, run: ResolvedConfig): OpenedRun => {
    store.setRunStatus(runId, 'running');
    logger.log('info', 'resuming run', { runId, completedRounds });
    return { runId, run, created: false };
  };
  if (cfg.runId) {
    const named = store.run(cfg.runId);
    if (!named) return create(cfg.runId);
    if (named.status === 'complete' || named.status === 'failed') throw new ConfigError(`Run ${named.id} already ${named.status}; choose another run id`);
    if (cfg.newRun) throw new ConfigError(`Run ${named.id} already exists, so it cannot be started as a new run: give another runId (--run-id), or leave out newRun (--new-run) to resume it`);
    const run = resumedConfig(named.config, cfg);
    const ignored = runDifferences(run.config, cfg);
    if (ignored.length > 0) logger.log('warn', 'resuming the named run with its own settings; these settings of this start are ignored', { runId: named.id, ignored });
    return resume(named.id, named.completedRounds, run);
  }
  const unfinished = cfg.newRun ? null : store.unfinishedRun();
  if (!unfinished) return create(newRunId());
  const run = resumedConfig(unfinished.config, cfg);
  const differences = runDifferences(run.config, cfg);
  if (differences.length > 0) {
    throw new ConfigError(
      [
        `The data directory holds an unfinished run ${unfinished.id} (${unfinished.completedRounds} of ${run.config.rounds} rounds done) whose settings differ from this start:`,
        ...differences.map((d) => `  ${d}`),
        `Start with its settings to resume it, give runId ${unfinished.id} (--run-id) to resume it with its own settings, or newRun (--new-run) to start a new run beside it.`,
      ].join('\n'),
    );
  }
  return resume(unfinished.id, unfinished.completedRounds, run);
}
