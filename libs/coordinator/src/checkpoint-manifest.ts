// A checkpoint's checksum manifest: the SHA-256 of every file in the checkpoint
// folder, written last inside it, and checked before the checkpoint is loaded.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CHECKPOINT_MANIFEST = 'checkpoint.json';

interface Manifest {
  format: 'fedxray-checkpoint';
  version: 1;
  round: number;
  /** File name → SHA-256 (hex) of its bytes, and its size. */
  files: Record<string, { sha256: string; bytes: number }>;
}

/** A checkpoint that is missing, cut short or altered since it was written. */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

function sha256(path: string): { sha256: string; bytes: number } {
  const data = readFileSync(path);
  return { sha256: createHash('sha256').update(data).digest('hex'), bytes: data.byteLength };
}

/** Writes the manifest of the files now in `dir` (call it last, while `dir` is still a temporary folder). */
export function writeCheckpointManifest(dir: string, round: number): void {
  const files: Manifest['files'] = {};
  for (const name of readdirSync(dir).sort()) if (name !== CHECKPOINT_MANIFEST) files[name] = sha256(join(dir, name));
  const manifest: Manifest = { format: 'fedxray-checkpoint', version: 1, round, files };
  writeFileSync(join(dir, CHECKPOINT_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
}

/**
 * Checks every file the manifest lists against its size and SHA-256. Returns
 * false for a checkpoint written before checkpoints carried a manifest (it
 * can only be loaded unverified); throws a CheckpointError naming the first
 * file that is missing, of the wrong size, or altered.
 */
export function verifyCheckpoint(dir: string): boolean {
  const path = join(dir, CHECKPOINT_MANIFEST);
  if (!existsSync(dir)) throw new CheckpointError(`Checkpoint ${dir} does not exist`);
  if (!existsSync(path)) return false;
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  } catch (err) {
    throw new CheckpointError(`Checkpoint manifest ${path} is not JSON: ${(err as Error).message}`);
  }
  if (manifest?.format !== 'fedxray-checkpoint' || typeof manifest.files !== 'object' || manifest.files === null) {
    throw new CheckpointError(`Checkpoint manifest ${path} is not a fedxray checkpoint manifest`);
  }
  for (const [name, expected] of Object.entries(manifest.files)) {
    const file = join(dir, name);
    if (!existsSync(file)) throw new CheckpointError(`Checkpoint ${dir} lacks ${name}, which its manifest lists`);
    const actual = sha256(file);
    if (actual.bytes !== expected.bytes) throw new CheckpointError(`Checkpoint file ${file} has ${actual.bytes} bytes, but its manifest says ${expected.bytes} (truncated or overwritten)`);
    if (actual.sha256 !== expected.sha256) throw new CheckpointError(`Checkpoint file ${file} does not match its SHA-256 in the manifest (expected ${expected.sha256.slice(0, 12)}…, got ${actual.sha256.slice(0, 12)}…): it was altered on disk`);
  }
  return true;
}
