import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// The bench commands run end to end and print what docs/BENCHMARKS.md says
// they print. Their figures are for a person to read; nothing here is timed.

const BIN = fileURLToPath(new URL('../bin/fedxray.js', import.meta.url));

function runJson(...args: string[]): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'bench', ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`fedxray bench ${args.join(' ')} exited ${code}: ${err}`));
      const lines = out.trim().split('\n');
      resolve(JSON.parse(lines[lines.length - 1]));
    });
  });
}

const positive = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;

test('bench transport moves the payload both ways, with the stock socket.io settings beside it', async () => {
  const r = await runJson('transport', '--megabytes', '2', '--repeats', '2', '--compare-stock');
  assert.equal(r.bytes, 2e6);
  for (const v of [r.downMBps, r.upMBps, r.stock.downMBps, r.stock.upMBps, r.downVsStock, r.upVsStock]) assert.ok(positive(v), JSON.stringify(r));
  assert.equal(r.maskFrames, false);
});

test('bench aggregate folds DenseNet121-sized updates and reports time against memory bandwidth', async () => {
  const r = await runJson('aggregate', '--hospitals', '2', '--repeats', '2');
  assert.equal(r.tensors, 612);
  assert.equal(r.recycledRounds, 2, 'every timed round writes into the result of two rounds before, as the coordinator does');
  assert.ok(Number.isInteger(r.pageFaults) && r.pageFaults >= 0, `pageFaults: ${r.pageFaults}`);
  assert.equal(r.bandwidthSamples, 5 + 2 + 2, 'five samples of memory bandwidth first, then one before each round (two warm-up, two timed)');
  assert.equal((await runJson('aggregate', '--hospitals', '2', '--repeats', '1', '--no-recycle')).recycledRounds, 0);
  assert.equal(r.values, 7_566_404);
  assert.equal(r.hospitals, 2);
  assert.equal(r.backend, 'wasm-simd');
  for (const k of ['ms', 'decodeMs', 'gbPerSecond', 'memoryBandwidthGBps', 'bandwidthRatio']) assert.ok(positive(r[k]), `${k}: ${r[k]}`);
  assert.ok(Math.abs(r.gbPerSecond - (2 * 7_566_404 * 4) / 1e9 / (r.ms / 1e3)) < 1e-6 * r.gbPerSecond);
});

test('bench train trains a small DenseNet on wasm with the training kernels and says which build ran', async () => {
  const r = await runJson('train', '--arch', 'densenet-tiny', '--image-size', '32', '--batch', '4', '--steps', '1', '--warmup', '0', '--workers', '1');
  assert.equal(r.arch, 'densenet-tiny');
  assert.equal(r.backend, 'wasm');
  assert.equal(r.customKernels, true);
  assert.equal(r.kernelSimd, process.env.FEDXRAY_RELAXED_SIMD === '0' ? 'simd128' : 'relaxed-simd');
  assert.equal(r.batch, 4);
  assert.ok(positive(r.imagesPerSecond));
  assert.ok(Math.abs(r.imagesPerSecond - 4 / r.medianStepSeconds) < 1e-9 * r.imagesPerSecond);
});

test('bench conv times our convolutions against the stock wasm kernel on DenseNet-121 shapes, and they agree', async () => {
  const r = await runJson('conv', '--batch', '1', '--repeats', '1');
  assert.equal(r.batch, 1);
  assert.equal(r.rows.length, 13);
  for (const row of r.rows) {
    for (const k of ['mflop', 'forwardMs', 'stockForwardMs', 'filterGradMs']) assert.ok(positive(row[k]), `${k}: ${JSON.stringify(row)}`);
    assert.ok(row.maxRelDiff < 1e-4, JSON.stringify(row));
  }
  assert.ok(Math.abs(r.forwardMs - r.rows.reduce((a: number, row: any) => a + row.forwardMs, 0)) < 1e-9);
});

test('bench train --trainable head adds head-only training: features computed in the first epoch, read from the feature cache after', async () => {
  const r = await runJson('train', '--arch', 'densenet-tiny', '--image-size', '32', '--batch', '4', '--steps', '1', '--warmup', '0', '--workers', '1', '--trainable', 'head', '--images', '8', '--epochs', '3');
  assert.ok(positive(r.imagesPerSecond));
  assert.equal(r.head.images, 8);
  assert.equal(r.head.store, 'custom');
  assert.equal(r.head.epochSeconds.length, 3);
  assert.ok(positive(r.head.firstEpochImagesPerSecond) && positive(r.head.cachedImagesPerSecond));
  assert.ok(Math.abs(r.head.firstEpochImagesPerSecond - 8 / r.head.epochSeconds[0]) < 1e-9 * r.head.firstEpochImagesPerSecond);
  assert.ok(Math.abs(r.cachedToFullRatio - r.head.cachedImagesPerSecond / r.imagesPerSecond) < 1e-9 * r.cachedToFullRatio);
});
