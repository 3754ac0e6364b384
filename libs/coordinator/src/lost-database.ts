// A data directory whose run folders outlived its database (fedxray.db missing,
// truncated to 0 bytes, or recreated empty): starting there would silently begin
// a new run with no registered hospitals, so the start is refused instead.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from './run-config';
import { DB_FILE } from './store';

/** How the database file looks before it is opened. */
export function databaseFileState(dataDir: string): 'missing' | 'empty' | 'present' {
  const path = join(dataDir, DB_FILE);
  if (!existsSync(path)) return 'missing';
  return statSync(path).size === 0 ? 'empty' : 'present';
}

/** Run folders under `<dataDir>/runs` that show a run happened: checkpoints, a saved model or a summary. */
export function earlierRunFolders(dataDir: string): string[] {
  const runs = join(dataDir, 'runs');
  if (!existsSync(runs)) return [];
  return readdirSync(runs, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .filter((name) => {
      const dir = join(runs, name);
      const checkpoints = join(dir, 'checkpoints');
      const hasCheckpoint = existsSync(checkpoints) && readdirSync(checkpoints).some((f) => /^round-\d+$/.test(f));
      return hasCheckpoint || existsSync(join(dir, 'model')) || existsSync(join(dir, 'summary.json'));
    })
    .sort();
}

/**
 * Throws a ConfigError when the data directory shows earlier runs but the
 * database knows none (`db` is its file state, or the number of runs it holds
 * once open), unless the start asks for a new run explicitly.
 */
export function refuseLostDatabase(dataDir: string, db: 'missing' | 'empty' | { runs: number }, newRun: boolean): void {
  if (newRun || (typeof db === 'object' && db.runs > 0)) return;
  const folders = earlierRunFolders(dataDir);
  if (folders.length === 0) return;
  const path = join(dataDir, DB_FILE);
  const what = db === 'missing' ? `${path} is missing` : db === 'empty' ? `${path} is empty (0 bytes)` : `${path} holds no runs`;
  throw new ConfigError(
    [
      `Refusing to start: ${join(dataDir, 'runs')} holds ${folders.length} earlier run${folders.length === 1 ? '' : 's'} (${folders.join(', ')}), but ${what}.`,
      'Starting would begin a new run with no registered hospitals and lose track of the earlier ones.',
      `Restore ${DB_FILE} from a backup to resume (the run continues from its checkpoints); or point --data-dir at a new folder;`,
      'or give --new-run (newRun) to start a new run here anyway, beside the old folders (hospitals must then be added again).',
    ].join('\n'),
  );
}
