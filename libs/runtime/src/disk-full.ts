/** Error codes that mean the disk (or the user's quota) has no room for a write: the file system's and SQLite's. */
export const DISK_FULL_CODES: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);

/** Whether `err` says a write failed for lack of space (ENOSPC, EDQUOT, or SQLite's SQLITE_FULL). */
export function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && DISK_FULL_CODES.has(code);
}
