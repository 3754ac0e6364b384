// For tests: a full disk without filling one. File writes under a folder fail
// with ENOSPC, and chosen run-store writes with SQLITE_FULL, while a switch is on.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { RunStore } from './store';

function enospc(syscall: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOSPC: no space left on device, ${syscall} '${path}'`), { code: 'ENOSPC', errno: -28, syscall, path });
}

/**
 * While `full()` is true, writing a file under `dir` (fs.openSync for writing,
 * fs.writeFileSync, fs/promises writeFile: what the coordinator writes with)
 * throws ENOSPC as the kernel would. Returns a function that undoes it.
 */
export function failFileWrites(dir: string, full: () => boolean): () => void {
  const root = resolve(dir);
  const under = (p: unknown) => typeof p === 'string' && resolve(p).startsWith(root);
  const { openSync, writeFileSync } = fs;
  const writeFile = fs.promises.writeFile;
  fs.openSync = ((path: fs.PathLike, ...rest: unknown[]) => {
    if (full() && under(path) && rest[0] !== undefined && rest[0] !== 'r') throw enospc('open', String(path));
    return (openSync as (...a: unknown[]) => number)(path, ...rest);
  }) as typeof fs.openSync;
  fs.writeFileSync = ((path: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
    if (full() && under(path)) throw enospc('write', String(path));
    return (writeFileSync as (...a: unknown[]) => void)(path, ...rest);
  }) as typeof fs.writeFileSync;
  fs.promises.writeFile = (async (path: unknown, ...rest: unknown[]) => {
    if (full() && under(path)) throw enospc('write', String(path));
    return (writeFile as (...a: unknown[]) => Promise<void>)(path, ...rest);
  }) as typeof fs.promises.writeFile;
  syncBuiltinESMExports();
  return () => {
    Object.assign(fs, { openSync, writeFileSync });
    fs.promises.writeFile = writeFile;
    syncBuiltinESMExports();
  };
}

/** The store's write methods. */
export const STORE_WRITES = ['addEvent', 'startRound', 'failRound', 'commitRound', 'completeRound', 'recordSiteMetrics', 'recordJobFailure', 'setRunStatus'] as const;

/** While `full()` is true, the store's writes throw SQLite's SQLITE_FULL, as better-sqlite3 does on a full disk. */
export function failStoreWrites(store: RunStore, full: () => boolean): void {
  for (const name of STORE_WRITES) {
    const write = (store[name] as (...a: unknown[]) => unknown).bind(store);
    (store as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      if (full()) throw new Database.SqliteError('database or disk is full', 'SQLITE_FULL');
      return write(...args);
    };
  }
}
