// A saved model as one file: a tar archive of its folder (model.json, the weight
// shards its manifest lists, fedxray.json), what the coordinator's "Download
// global model" serves and `fedxray predict --model <archive>` reads.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract, pack } from 'tar-stream';
import { ModelError } from './errors';
import { META_FILE, MODEL_FILE } from './io';

/**
 * Files that travel with a model when its folder has them: the list of images
 * it was trained on (libs/data's TRAINING_IMAGES_FILE, written by simulate),
 * so that `fedxray evaluate` on an archive still refuses training images.
 */
export const MODEL_COMPANION_FILES = ['training-images.json'] as const;

/** The files of a saved model folder that make the model: model.json, fedxray.json, the manifest's shards and the companions it has (not a checkpoint's server state). */
export async function modelFiles(dir: string): Promise<string[]> {
  let json: { weightsManifest?: { paths?: unknown }[] };
  try {
    json = JSON.parse(await readFile(join(dir, MODEL_FILE), 'utf8'));
  } catch (err) {
    throw new ModelError(`Expected a tfjs model.json in ${dir}: ${(err as Error).message}`);
  }
  const shards = (json.weightsManifest ?? []).flatMap((g) => (Array.isArray(g.paths) ? g.paths.map(String) : []));
  for (const s of shards) if (!safeEntry(s)) throw new ModelError(`${join(dir, MODEL_FILE)} lists a weight shard outside its folder: ${s}`);
  const companions = [];
  for (const f of MODEL_COMPANION_FILES) if (await stat(join(dir, f)).then((st) => st.isFile(), () => false)) companions.push(f);
  return [MODEL_FILE, ...shards, META_FILE, ...companions];
}

/** A relative path that stays inside the folder it is unpacked into. */
function safeEntry(name: string): boolean {
  const n = normalize(name);
  return n !== '' && !isAbsolute(n) && n !== '..' && !n.startsWith(`..${sep}`) && !n.includes(`${sep}..${sep}`);
}

/**
 * The model folder `dir` as a tar stream whose entries sit in one folder
 * `folder/` (so unpacking makes no mess): `tar xf` it, then load
 * `folder/model.json` with `tf.loadLayersModel`.
 */
export async function packModel(dir: string, folder: string): Promise<Readable> {
  if (!safeEntry(folder) || folder.includes(sep)) throw new ModelError(`Expected a plain folder name for the archive, but got ${folder}`);
  const files = await modelFiles(dir);
  const sizes = await Promise.all(files.map(async (f) => (await stat(join(dir, f))).size));
  const tar = pack();
  void (async () => {
    try {
      for (const [i, f] of files.entries()) {
        const entry = tar.entry({ name: `${folder}/${f}`, size: sizes[i], mode: 0o644, mtime: new Date() });
        await pipeline(createReadStream(join(dir, f)), entry);
      }
      tar.finalize();
    } catch (err) {
      tar.destroy(err as Error);
    }
  })();
  return tar;
}

/** Most bytes an archive may unpack to (a DenseNet-201 is ~80 MB). */
const MAX_UNPACKED_BYTES = 4 * 1024 ** 3;

/**
 * Unpacks a model archive (tar, or tar.gz) into `dest` and returns the folder
 * holding its model.json: `dest` itself, or the one folder the archive put
 * everything in. Entries that would land outside `dest`, links and devices are
 * refused.
 */
export async function unpackModel(archive: string, dest: string): Promise<string> {
  const head = Buffer.alloc(2);
  const fh = await open(archive, 'r');
  try {
    await fh.read(head, 0, 2, 0);
  } finally {
    await fh.close();
  }
  const gzip = head[0] === 0x1f && head[1] === 0x8b;
  const tar = extract();
  let total = 0;
  const written: string[] = [];
  tar.on('entry', (header, stream, next) => {
    const fail = (message: string) => {
      // The entry ends with the archive's error; the pipeline reports it once.
      stream.on('error', () => {});
      stream.resume();
      tar.destroy(new ModelError(`${archive}: ${message}`));
    };
    if (header.type === 'directory') return stream.on('end', next).resume();
    if (header.type !== 'file') return fail(`expected only files and folders in a model archive, but ${header.name} is a ${header.type}`);
    if (!safeEntry(header.name)) return fail(`refusing an entry outside the folder it unpacks into: ${header.name}`);
    total += header.size ?? 0;
    if (total > MAX_UNPACKED_BYTES) return fail(`unpacks to more than ${MAX_UNPACKED_BYTES} bytes; not a model archive`);
    const target = join(dest, normalize(header.name));
    written.push(normalize(header.name));
    void mkdir(dirname(target), { recursive: true })
      .then(() => pipeline(stream, createWriteStream(target)))
      .then(() => next(), (err) => tar.destroy(err));
  });
  const source = createReadStream(archive);
  await (gzip ? pipeline(source, createGunzip(), tar) : pipeline(source, tar)).catch((err) => {
    throw err instanceof ModelError ? err : new ModelError(`Cannot unpack ${archive} as a tar archive of a model: ${(err as Error).message}`);
  });
  const models = written.filter((w) => w === MODEL_FILE || w.endsWith(`${sep}${MODEL_FILE}`));
  if (models.length !== 1) {
    throw new ModelError(`Expected one ${MODEL_FILE} in the archive ${archive}, but found ${models.length === 0 ? 'none' : models.join(', ')}`);
  }
  return join(dest, dirname(models[0]));
}
