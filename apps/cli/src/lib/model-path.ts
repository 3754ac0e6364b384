import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../usage';

/**
 * A saved model's folder from `--model`: a folder as it is, or an archive
 * (the dashboard's "Download global model", tar or tar.gz) unpacked into a
 * temporary folder that `dispose()` removes.
 */
export async function openModelPath(path: string): Promise<{ dir: string; dispose(): Promise<void> }> {
  const st = await stat(path).catch(() => null);
  if (!st) throw new UsageError(`Expected --model to be a saved model folder or a model archive (.tar), but ${path} does not exist`);
  if (st.isDirectory()) return { dir: path, dispose: async () => {} };
  const { unpackModel } = await import('@fedxray/model');
  const tmp = await mkdtemp(join(tmpdir(), 'fedxray-model-archive-'));
  const dispose = () => rm(tmp, { recursive: true, force: true });
  try {
    return { dir: await unpackModel(path, tmp), dispose };
  } catch (err) {
    await dispose();
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}
