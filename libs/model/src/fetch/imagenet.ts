import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { ModelError } from '../errors';
import type { Arch } from '../spec';
import { DownloadError, HashMismatchError, downloadVerified, fileDigest, type DownloadProgress } from './download';
import type { ProxyEnv } from './proxy';

/** One published Keras weight file. */
export interface KerasWeightFile {
  file: string;
  url: string;
  /** MD5 as keras.applications passes it to `get_file(file_hash=…)`. */
  md5: string;
}

const KERAS_DENSENET = 'https://storage.googleapis.com/tensorflow/keras-applications/densenet/';

/**
 * The ImageNet "notop" files keras.applications.densenet loads for
 * `DenseNet121/169/201(weights='imagenet', include_top=False)`: the same
 * names, URL and hashes as keras/src/applications/densenet.py.
 */
export const IMAGENET_WEIGHTS = {
  densenet121: {
    file: 'densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5',
    url: `${KERAS_DENSENET}densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5`,
    md5: '30ee3e1110167f948a6b9946edeeb738',
  },
  densenet169: {
    file: 'densenet169_weights_tf_dim_ordering_tf_kernels_notop.h5',
    url: `${KERAS_DENSENET}densenet169_weights_tf_dim_ordering_tf_kernels_notop.h5`,
    md5: 'b8c4d4c20dd625c148057b9ff1c1176b',
  },
  densenet201: {
    file: 'densenet201_weights_tf_dim_ordering_tf_kernels_notop.h5',
    url: `${KERAS_DENSENET}densenet201_weights_tf_dim_ordering_tf_kernels_notop.h5`,
    md5: 'c13680b51ded0fb44dff2d8f86ac8bb1',
  },
} as const satisfies Record<string, KerasWeightFile>;

export type ImagenetArch = keyof typeof IMAGENET_WEIGHTS;
export const IMAGENET_ARCHS = Object.keys(IMAGENET_WEIGHTS) as ImagenetArch[];

/** The ImageNet file of an architecture, or a ModelError naming the ones that have one. */
export function imagenetFile(arch: Arch | string): KerasWeightFile {
  const f = (IMAGENET_WEIGHTS as Record<string, KerasWeightFile>)[arch];
  if (!f) throw new ModelError(`ImageNet weights exist for ${IMAGENET_ARCHS.join(', ')}, not for ${arch}`);
  return f;
}

/** fedxray's cache directory: `$XDG_CACHE_HOME/fedxray`, else `~/.cache/fedxray`. */
export function fedxrayCacheDir(env: Record<string, string | undefined> = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  return xdg && isAbsolute(xdg) ? join(xdg, 'fedxray') : join(homedir(), '.cache', 'fedxray');
}

/** Where the cached ImageNet file of `arch` lives. */
export function imagenetWeightsPath(arch: Arch | string, cacheDir = fedxrayCacheDir()): string {
  return join(cacheDir, 'models', imagenetFile(arch).file);
}

export interface FetchImagenetOptions {
  /** @default fedxrayCacheDir() */
  cacheDir?: string;
  /** A mirror to download from instead of Keras' URL (the file must have the same hash). */
  url?: string;
  /** Take the file from this path (a hospital without internet) instead of downloading it. */
  fromFile?: string;
  onProgress?: (p: DownloadProgress) => void;
  env?: ProxyEnv;
}

export interface FetchImagenetResult {
  path: string;
  md5: string;
  /** 'cache' when a verified file was already there. */
  from: 'cache' | 'download' | 'file';
  bytes?: number;
  resumedFrom?: number;
  proxy?: string | null;
}

/** The line to print when the file cannot be downloaded: where it is, its hash, and how to hand it over. */
export function offlineHint(arch: string, f: KerasWeightFile): string {
  return `Get ${f.file} on a machine with internet access (${f.url}, md5 ${f.md5}) and run: fedxray model fetch imagenet --arch ${arch} --from-file <path to ${f.file}>`;
}

async function cachedIfValid(path: string, md5: string): Promise<boolean> {
  try {
    return (await fileDigest(path, 'md5')) === md5;
  } catch {
    return false;
  }
}

/**
 * Makes sure the verified ImageNet notop file of `arch` is in the cache and
 * returns its path: from the cache if it is there with the right MD5,
 * otherwise copied from `fromFile` or downloaded (resumable, through the
 * environment's proxy) from Keras' URL or `url`. A file with the wrong hash
 * is refused and nothing is cached. Offline, the error says how to get the
 * file by hand.
 */
export function fetchImagenetWeights(arch: Arch | string, o: FetchImagenetOptions = {}): Promise<FetchImagenetResult> {
  return fetchWeightFile(imagenetFile(arch), arch, o);
}

/** `fetchImagenetWeights` for any published file (`arch` names it in the offline hint). */
export async function fetchWeightFile(f: KerasWeightFile, arch: string, o: FetchImagenetOptions = {}): Promise<FetchImagenetResult> {
  const dest = join(o.cacheDir ?? fedxrayCacheDir(), 'models', f.file);
  if (o.fromFile) {
    let md5: string;
    try {
      md5 = await fileDigest(o.fromFile, 'md5');
    } catch (err) {
      throw new ModelError(`Expected ${f.file} at ${o.fromFile}, but it cannot be read (${(err as NodeJS.ErrnoException).code ?? err})`);
    }
    if (md5 !== f.md5) throw new HashMismatchError(`${o.fromFile} is not ${f.file}: expected md5 ${f.md5}, got ${md5}; nothing was cached`);
    await mkdir(join(dest, '..'), { recursive: true });
    const tmp = `${dest}.copy-${process.pid}`;
    try {
      await copyFile(o.fromFile, tmp);
      await rename(tmp, dest);
    } finally {
      await rm(tmp, { force: true });
    }
    return { path: dest, md5, from: 'file' };
  }
  if (await cachedIfValid(dest, f.md5)) return { path: dest, md5: f.md5, from: 'cache' };
  try {
    const r = await downloadVerified({ url: o.url ?? f.url, dest, md5: f.md5, onProgress: o.onProgress, env: o.env });
    return { path: r.path, md5: r.md5, from: 'download', bytes: r.bytes, resumedFrom: r.resumedFrom, proxy: r.proxy };
  } catch (err) {
    if (err instanceof DownloadError && err.offline) throw new DownloadError(`${err.message}. ${offlineHint(arch, f)}`, true);
    throw err;
  }
}
