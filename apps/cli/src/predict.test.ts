import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { inputToOriginal } from './lib/gradcam-report';
import { runFedxray, savedModel, tempDir } from './testing';

/**
 * A head whose class 0 grows with every backbone feature (all head weights
 * positive), so its Grad-CAM has evidence wherever the features do; class 1's
 * output weights are zero, so its score ignores the image and its map is empty.
 */
function positiveHead(model: tf.LayersModel): void {
  for (const name of ['dense', 'dense_1']) {
    const layer = model.getLayer(name);
    const [kernel, bias] = layer.getWeights();
    const [rows, cols] = kernel.shape;
    const k = tf.tidy(() => (name === 'dense_1' ? tf.concat([tf.fill([rows, 1], 0.1), tf.zeros([rows, cols - 1])], 1) : tf.fill([rows, cols], 0.1)));
    const b = tf.zerosLike(bias);
    layer.setWeights([k, b]);
    tf.dispose([k, b]);
  }
}

test('predict --gradcam prints where the map peaks, says when it is flat, and writes the overlay with its legend', { timeout: 120_000 }, async () => {
  // Prepare: a model with a known head, and a 96×48 X-ray-like image with a bright blob.
  const model = await savedModel(['finding', 'nothing'], { imageSize: 48, shape: positiveHead });
  const dir = tempDir();
  mkdirSync(join(dir, 'in'));
  const image = join(dir, 'in', 'chest.png');
  const px = Buffer.alloc(96 * 48);
  for (let y = 0; y < 48; y++) for (let x = 0; x < 96; x++) px[y * 96 + x] = 40 + (Math.hypot(x - 24, y - 12) < 8 ? 180 : 0);
  await sharp(px, { raw: { width: 96, height: 48, channels: 1 } }).png().toFile(image);
  const out = join(dir, 'maps');

  // Execute: the class with evidence, then the class whose score ignores the image.
  const found = await runFedxray(['predict', image, '--model', model, '--gradcam', out, '--class', 'finding', '--backend', 'cpu', '--overlay-size', '256']);
  const flat = await runFedxray(['predict', image, '--model', model, '--gradcam', join(dir, 'flat'), '--class', 'nothing', '--backend', 'cpu', '--json']);

  // Assert
  assert.equal(found.code, 0, found.err);
  assert.match(found.out, /Grad-CAM for finding: peak at x \d+, y \d+ of the 96×48 image; .*chest\.gradcam\.png/);
  const [, px0, py0] = /peak at x (\d+), y (\d+)/.exec(found.out)!.map(Number);
  assert.ok(px0 < 96 && py0 < 48);
  const png = await sharp(join(out, 'chest.gradcam.png')).metadata();
  assert.equal(png.width, 256);
  assert.ok(png.height! > 256, `a legend strip below the 256×256 overlay (height ${png.height})`);
  assert.equal(flat.code, 0, flat.err);
  const json = JSON.parse(flat.out);
  assert.equal(json.results[0].explained, 'nothing');
  assert.equal(json.results[0].heatmap.flat, 'empty');
  assert.deepEqual([json.results[0].heatmap.imageWidth, json.results[0].heatmap.imageHeight], [96, 48]);
  assert.ok(existsSync(json.results[0].gradcam));
  const text = await runFedxray(['predict', image, '--model', model, '--gradcam', join(dir, 'flat'), '--class', 'nothing', '--backend', 'cpu']);
  assert.match(text.out, /Grad-CAM for nothing is flat \(empty: no region has positive evidence for this class, so nothing is coloured\); .* says so in its legend\. Try --class with another class\./);
});

test('a peak in the model input maps back to the original image, stretched or letterboxed', () => {
  // fill: a 224 input stretched from 1000×500; the centre stays the centre.
  assert.deepEqual(inputToOriginal({ x: 111, y: 111 }, 224, { width: 1000, height: 500 }, 'fill'), { x: 497, y: 248 });
  assert.deepEqual(inputToOriginal({ x: 223, y: 0 }, 224, { width: 1000, height: 500 }, 'fill'), { x: 997, y: 1 });
  // letterbox: 1000×500 scaled by 0.224 to 224×112, centred with 56 black rows above; a pixel in the black is clamped to the edge.
  assert.deepEqual(inputToOriginal({ x: 111, y: 111 }, 224, { width: 1000, height: 500 }, 'letterbox'), { x: 497, y: 247 });
  assert.deepEqual(inputToOriginal({ x: 0, y: 0 }, 224, { width: 1000, height: 500 }, 'letterbox'), { x: 2, y: 0 });
});
