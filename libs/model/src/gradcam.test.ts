import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { buildModel } from './densenet';
import { FLAT_RANGE, gradCam, scaleMap } from './gradcam';
import { heatmapOverlayPng, jet, legendLayout } from './overlay';
import { HEAD_LAYERS } from './spec';
import { Trainer, evaluateBatch } from './trainer';
import { blobImages, randomImages, tinySpec } from './test-util';
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
  let peaksOnBlobSide = 0;
  for (let i = 0; i < 12; i++) {
    if (held.labels[i] === 2) continue;
    const img = tf.slice(held.x, [i, 0, 0, 0], [1, size, size, 1]) as tf.Tensor4D;
    const cam = gradCam(model, spec, img, held.labels[i]);
    img.dispose();
    assert.equal(cam.heatmap.length, size * size);
    assert.equal(cam.classIndex, held.labels[i]);
    if (cam.flat === null && cam.peak.x < size / 2 === (held.labels[i] === 0)) peaksOnBlobSide++;
    if (cam.flat === null) assert.equal(cam.heatmap[cam.peak.y * size + cam.peak.x], 1, 'the peak is where the scaled map is 1');
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
  assert.ok(peaksOnBlobSide >= shares.length / 2, `the map peaks on the blob's side in ${peaksOnBlobSide}/${shares.length} images`);
  trainer.dispose();
  tf.dispose([train.x, held.x]);
});

test('a map is flat when it is empty (no positive evidence) or varies less than FLAT_RANGE of its peak; else it has a peak', () => {
  const empty = scaleMap(new Float32Array(6), 3);
  assert.deepEqual([empty.flat, empty.rawPeak, Array.from(empty.heatmap)], ['empty', 0, [0, 0, 0, 0, 0, 0]]);
  const nearlyEven = scaleMap(Float32Array.from([2, 2, 2 * (1 - FLAT_RANGE / 2), 2]), 2);
  assert.equal(nearlyEven.flat, 'uniform');
  const peaked = scaleMap(Float32Array.from([0, 0.5, 0, 0, 0, 0, 0, 0, 4, 1, 0, 0]), 4);
  assert.equal(peaked.flat, null);
  assert.equal(peaked.rawPeak, 4);
  assert.deepEqual(peaked.peak, { x: 0, y: 2 });
  assert.deepEqual(Array.from(peaked.heatmap.slice(8, 10)), [1, 0.25]);
});

test('Grad-CAM of a class whose score ignores the features is empty, and says so', () => {
  // Prepare: an untrained model whose output weights for class 1 are zero, so that class's logit is the same for every image.
  const spec = tinySpec({ imageSize: 32 });
  const model = buildModel(spec, { seed: 4 });
  const out = model.getLayer(HEAD_LAYERS.out);
  const [kernel, bias] = out.getWeights();
  const k = kernel.arraySync() as number[][];
  for (const row of k) row[1] = 0;
  const zeroed = tf.tensor2d(k);
  out.setWeights([zeroed, bias]);
  zeroed.dispose();
  const x = randomImages(1, 32, 1, 5);
  const n = tf.memory().numTensors;
  // Execute
  const cam = gradCam(model, spec, x, 1);
  // Assert
  assert.equal(tf.memory().numTensors, n);
  assert.equal(cam.flat, 'empty');
  assert.equal(cam.rawPeak, 0);
  assert.ok(cam.heatmap.every((v) => v === 0));
  x.dispose();
  model.dispose();
});

/** Decodes an overlay PNG and reads pixels. */
async function pixels(png: Buffer): Promise<{ width: number; height: number; at: (x: number, y: number) => number[] }> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 3);
  return { width: info.width, height: info.height, at: (x, y) => Array.from(data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)) };
}

test('the overlay is red where the map is hot, with a legend below: a colour bar from blue to red, the peak marked, a flat map warned about', async () => {
  const w = 256;
  const h = 128;
  const grey = new Uint8Array(w * h).fill(100);
  const heat = new Float32Array(16);
  heat[3] = 1; // top-right cell of a 4×4 map
  const legend = legendLayout(w);

  const hot = await pixels(await heatmapOverlayPng({ data: grey, width: w, height: h, channels: 1 }, { heatmap: heat, width: 4, height: 4 }, { title: 'Grad-CAM: right', peak: { x: 3, y: 0, label: 'peak' } }));
  assert.deepEqual([hot.width, hot.height], [w, h + legend.height]);
  const [r, g, b] = hot.at(w - 2, 2);
  assert.ok(r > g + 40 && r > b + 40, `hot corner ${[r, g, b]}`);
  assert.deepEqual(hot.at(0, h - 1), [100, 100, 100]);
  // The peak cell's centre carries the white cross.
  assert.deepEqual(hot.at(Math.round(3.5 * (w / 4)), Math.round(0.5 * (h / 4))), [255, 255, 255]);
  // The colour bar (second legend line) runs from jet(0) to jet(1).
  const barY = h + legend.pad + legend.pitch + 2;
  const row = Array.from({ length: w }, (_, x) => hot.at(x, barY));
  const first = row.findIndex((p) => p.join() === jet(0).join());
  const last = row.map((p) => p.join()).lastIndexOf(jet(1).join());
  assert.ok(first >= 0 && last > first + w / 2, `colour bar from x ${first} to ${last}`);
  const amber = (img: typeof hot) => {
    let n = 0;
    for (let y = h; y < img.height; y++) for (let x = 0; x < w; x++) if (img.at(x, y).join() === '255,196,61') n++;
    return n;
  };
  assert.equal(amber(hot), 0, 'no warning for a map with a peak');

  const flat = await pixels(await heatmapOverlayPng({ data: grey, width: w, height: h, channels: 1 }, { heatmap: new Float32Array(16), width: 4, height: 4 }, { title: 'Grad-CAM: right', peak: { x: 0, y: 0 }, flat: 'empty' }));
  assert.ok(amber(flat) > 50, 'the legend warns that the map is flat');
  assert.deepEqual(flat.at(2, 2), [100, 100, 100], 'an empty map colours nothing, and marks no peak');
});
