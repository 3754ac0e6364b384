import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A name for a temporary sibling of `path` that no other writer (process or call) picks. */
function sibling(path: string, kind: 'tmp' | 'old'): string {
  const tag = `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  return join(dirname(path), `.${basename(path)}.${kind}-${tag}`);
}

/**
 * Writes a file so that a reader, or a crash, sees either the old content or
 * the new, never a part: the data goes to a temporary file beside it, is
 * flushed to disk, then renamed over `path`.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = sibling(path, 'tmp');
  const fd = openSync(tmp, 'w');
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let at = 0;
    while (at < bytes.byteLength) at += writeSync(fd, bytes, at, bytes.byteLength - at);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Writes a directory as a whole: `fill` writes into a fresh temporary sibling,
 * which then takes the place of `dir` (an existing `dir` is moved aside first
 * and removed after). A reader never sees half a directory; if `fill` throws,
 * `dir` is left as it was and the temporary one is removed.
 */
export async function writeDirAtomic(dir: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  await mkdir(dirname(dir), { recursive: true });
  const tmp = sibling(dir, 'tmp');
  await mkdir(tmp);
  try {
    await fill(tmp);
    const existed = await stat(dir).then(
      () => true,
      () => false,
    );
    const old = sibling(dir, 'old');
    if (existed) await rename(dir, old);
    await rename(tmp, dir);
    if (existed) await rm(old, { recursive: true, force: true });
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
