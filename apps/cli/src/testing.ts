/** Helpers for the CLI's tests: the real command in its own process, a saved model, image folders. */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/fedxray.js', import.meta.url));

/** Runs `fedxray …` in its own process, as a user would. */
export function runFedxray(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FEDXRAY_TOKEN: '', ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

/** `run('simulate', '--help')`: the same, with the arguments spread. */
export function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return runFedxray(args);
}

export function tempDir(prefix = 'fedxray-cli-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * A saved densenet-tiny model (untrained, seeded). `shape` may rewrite its
 * head's weights before it is saved, to make a test's outcome certain.
 */
export async function savedModel(classes: string[], options: { imageSize?: number; shape?: (model: import('@tensorflow/tfjs').LayersModel) => void } = {}): Promise<string> {
  const { buildModel, saveModel } = await import('@fedxray/model');
  const spec = { arch: 'densenet-tiny' as const, imageSize: options.imageSize ?? 16, channels: 3, classes, head: { units: 8, dropout: 0 } };
  const model = buildModel(spec, { seed: 1 });
  options.shape?.(model);
  const dir = join(tempDir('fedxray-model-'), 'model');
  await saveModel(model, dir);
  model.dispose();
  return dir;
}

/** PNGs in class folders: `counts[name]` images of noise in folder `name`, each image different. */
export async function imageFolders(counts: Record<string, number>, size = 16): Promise<string> {
  const sharp = (await import('sharp')).default;
  const dir = tempDir('fedxray-images-');
  let seed = 1;
  for (const [name, n] of Object.entries(counts)) {
    mkdirSync(join(dir, name), { recursive: true });
    for (let i = 0; i < n; i++) {
      const px = Buffer.alloc(size * size);
      for (let p = 0; p < px.length; p++) px[p] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
      await sharp(px, { raw: { width: size, height: size, channels: 1 } })
        .png()
        .toFile(join(dir, name, `${name}-${i}.png`));
    }
  }
  return dir;
}
