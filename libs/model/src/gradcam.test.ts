import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { buildModel } from './densenet';
import { gradCam } from './gradcam';
import { heatmapOverlayPng } from './overlay';
import { Trainer, evaluateBatch } from './trainer';
import { blobImages, tinySpec } from './test-util';
// Through the barrel, so the wasm training kernels' backend hook is registered.
import { initBackend, kernelsVariant, missingTrainingKernels } from './index';

// Training the blob model is ~10× faster on wasm with fedxray's training
// kernels than on tfjs' cpu backend, and reaches the same result (checked on
// both); without those kernels the test runs on cpu. The plain SIMD128 build of
// the kernels computes the same bits on every machine: 18 steps of a tiny model
// is a chaotic trajectory, and the relaxed build's fused multiply-add (present
// on some CPUs, not on others) moved the held-out accuracy between 9 and 12 of 12.
// This file runs in a process of its own; the kernels are compiled on first use.
process.env.FEDXRAY_RELAXED_SIMD = '0';
await initBackend('wasm');
if (missingTrainingKernels('wasm').length > 0) await initBackend('cpu');

test('a tiny model trained on left vs right blobs puts most Grad-CAM mass on the blob', async () => {
  // Three classes — blob left, blob right, no blob — so that each blob class is
  // recognised by its blob rather than by the absence of the other one. Dropout
  // is off so the run is deterministic on the cpu backend.
  const size = 48; // a 3×3 final feature map
  const spec = tinySpec({
    imageSize: size,
    classes: ['left', 'right', 'none'],
    head: { units: 16, dropout: 0 },
    optimizer: { name: 'adam', learningRate: 0.01 },
  });
  if (tf.getBackend() === 'wasm') assert.equal(kernelsVariant(), 'simd128');
  const model = buildModel(spec, { seed: 3 });
  const trainer = new Trainer(model, spec);
  const train = blobImages(18, size, 11, 3);
  for (let i = 0; i < 18; i++) await trainer.trainBatch(train.x, train.labels);

  const held = blobImages(12, size, 99, 3);
  const { probs } = evaluateBatch(model, spec, held.x, held.labels);
  let correct = 0;
  for (let i = 0; i < 12; i++) {
    let best = 0;
    for (let c = 1; c < 3; c++) if (probs[3 * i + c] > probs[3 * i + best]) best = c;
    if (best === held.labels[i]) correct++;
  }
  assert.ok(correct >= 10, `held-out accuracy ${correct}/12`);

  const n = tf.memory().numTensors;
  const shares: number[] = [];
  for (let i = 0; i < 12; i++) {
    if (held.labels[i] === 2) continue;
    const img = tf.slice(held.x, [i, 0, 0, 0], [1, size, size, 1]) as tf.Tensor4D;
    const cam = gradCam(model, spec, img, held.labels[i]);
    img.dispose();
    assert.equal(cam.heatmap.length, size * size);
    assert.equal(cam.classIndex, held.labels[i]);
    let left = 0;
    let total = 0;
    for (let p = 0; p < cam.heatmap.length; p++) {
      total += cam.heatmap[p];
      if (p % size < size / 2) left += cam.heatmap[p];
    }
    shares.push(total > 0 ? (held.labels[i] === 0 ? left / total : 1 - left / total) : 0);
  }
  assert.equal(tf.memory().numTensors, n);
  const majority = shares.filter((s) => s > 0.5).length;
  const mean = shares.reduce((a, b) => a + b, 0) / shares.length;
  assert.ok(majority >= shares.length - 1, `most Grad-CAM mass on the blob's half in ${majority}/${shares.length} images (${shares.map((s) => s.toFixed(2))})`);
  assert.ok(mean > 0.55, `mean share on the blob's half ${mean.toFixed(2)}`);
  trainer.dispose();
  tf.dispose([train.x, held.x]);
});

test('the overlay is a PNG of the image size, red where the map is hot', async () => {
  const w = 20;
  const h = 10;
  const grey = new Uint8Array(w * h).fill(100);
  const heat = new Float32Array(4);
  heat[1] = 1; // top-right cell of a 2×2 map
  const png = await heatmapOverlayPng({ data: grey, width: w, height: h, channels: 1 }, { heatmap: heat, width: 2, height: 2 });
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [w, h, 3]);
  const px = (x: number, y: number) => [data[(y * w + x) * 3], data[(y * w + x) * 3 + 1], data[(y * w + x) * 3 + 2]];
  const [r, g, b] = px(w - 1, 0);
  assert.ok(r > g + 40 && r > b + 40, `hot corner ${[r, g, b]}`);
  assert.deepEqual(px(0, h - 1), [100, 100, 100]);
});
