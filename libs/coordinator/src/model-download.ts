// "Download global model": the latest global model (final, or the last
// checkpoint) as one tar archive that `fedxray predict --model` reads and,
// unpacked, `tf.loadLayersModel` loads.
import type { ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { packModel, readModelMeta } from '@fedxray/model';
import type { CoordinatorView } from './view';

/** Where the archive is served. */
export const MODEL_ARCHIVE_PATH = '/model.tar';

/** The archive's folder (and file) name: the run, and the round the model is from. */
export async function modelArchiveName(runId: string, dir: string): Promise<string> {
  const meta = await readModelMeta(dir).catch(() => null);
  const round = typeof meta?.round === 'number' ? `-round-${meta.round}` : '';
  return `fedxray-model-${runId}${round}`.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** Streams the model archive, or answers 404 before the first round's model exists. */
export async function sendModelArchive(c: Pick<CoordinatorView, 'modelDir' | 'runId'>, res: ServerResponse): Promise<void> {
  const dir = c.modelDir();
  if (!dir) {
    res.writeHead(404, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({ error: 'no global model yet: the first round has not finished' }));
    return;
  }
  const name = await modelArchiveName(c.runId, dir);
  const tar = await packModel(dir, name);
  res.writeHead(200, { 'content-type': 'application/x-tar', 'content-disposition': `attachment; filename="${name}.tar"`, 'cache-control': 'no-store' });
  await pipeline(tar, res);
}
