/**
 * How learnable is the demo data? Trains `densenet-tiny` centrally (no
 * federation) on the demo set at 64×64 and prints, per
 * epoch, the training loss and accuracy and the validation and test accuracy,
 * then the test confusion matrix. Also prints a pixel baseline (nearest class
 * mean on 16×16 thumbnails) to show the classes are not separable by brightness
 * alone. Usage:
 *   node --import tsx tools/src/xray/learnability.ts [--epochs 8] [--seed 1] [--size 64] [--batch 32] [--lr 0.003] [--cache .cache]
 *     [--backend auto|wasm|cpu] [--data-seed 1]
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { decodeResized, scanDataset, splitDataset, toModelInput } from '@fedxray/data';
import type { DataItem } from '@fedxray/data';
import { ModelSpecSchema, Trainer, buildModel, initBackend } from '@fedxray/model';
import type { BackendChoice } from '@fedxray/model';
import { ensureDemoData } from './generate';
import { Rng } from './random';

const { values } = parseArgs({
  options: {
    epochs: { type: 'string', default: '8' },
    seed: { type: 'string', default: '1' },
    size: { type: 'string', default: '64' },
    batch: { type: 'string', default: '32' },
    lr: { type: 'string', default: '0.003' },
    cache: { type: 'string', default: '.cache' },
    'data-seed': { type: 'string', default: '1' },
    backend: { type: 'string', default: 'auto' },
  },
});
const epochs = Number(values.epochs);
const seed = Number(values.seed);
const size = Number(values.size);
const batch = Number(values.batch);
const lr = Number(values.lr);

const t0 = Date.now();
const demo = await ensureDemoData(resolve(values.cache!), { seed: Number(values['data-seed']) });
console.log(`data: ${demo.out} (${demo.reused ? 'reused' : 'generated'} in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
const ds = await scanDataset(demo.out);
const splits = splitDataset(ds, { seed });
console.log(`classes ${ds.classes.join(', ')}; train ${splits.train.length}, val ${splits.val.length}, test ${splits.test.length}`);

async function load(items: DataItem[]): Promise<{ x: Float32Array; y: Int32Array }> {
  const x = new Float32Array(items.length * size * size);
  const y = new Int32Array(items.length);
  for (let i = 0; i < items.length; i++) {
    toModelInput(await decodeResized(items[i].path, size, { channels: 1 }), 1, 'rescale', x, i * size * size);
    y[i] = items[i].label;
  }
  return { x, y };
}
const train = await load(splits.train);
const val = await load(splits.val);
const test = await load(splits.test);

// Pixel baseline: nearest class mean on 16×16 thumbnails (average-pooled from `size`).
function thumbs(x: Float32Array, count: number): Float32Array[] {
  const f = size / 16;
  return Array.from({ length: count }, (_, k) => {
    const t = new Float32Array(256);
    for (let v = 0; v < size; v++) for (let u = 0; u < size; u++) t[Math.floor(v / f) * 16 + Math.floor(u / f)] += x[k * size * size + v * size + u] / (f * f);
    return t;
  });
}
{
  const tr = thumbs(train.x, train.y.length);
  const means = ds.classes.map(() => new Float32Array(256));
  const counts = ds.classes.map(() => 0);
  tr.forEach((t, i) => {
    counts[train.y[i]]++;
    for (let j = 0; j < 256; j++) means[train.y[i]][j] += t[j];
  });
  means.forEach((m, c) => m.forEach((_, j) => (m[j] /= Math.max(1, counts[c]))));
  const te = thumbs(test.x, test.y.length);
  let ok = 0;
  te.forEach((t, i) => {
    let best = 0;
    let bestD = Infinity;
    means.forEach((m, c) => {
      let d = 0;
      for (let j = 0; j < 256; j++) d += (t[j] - m[j]) ** 2;
      if (d < bestD) [bestD, best] = [d, c];
    });
    if (best === test.y[i]) ok++;
  });
  const majority = Math.max(...ds.classes.map((_, c) => test.y.filter((l) => l === c).length)) / test.y.length;
  console.log(`baselines on test: majority class ${majority.toFixed(3)}, nearest class mean on 16×16 pixels ${(ok / te.length).toFixed(3)}`);
}

const backend = await initBackend(values.backend as BackendChoice);
console.log(`backend ${backend.backend}`);
const spec = ModelSpecSchema.parse({
  arch: 'densenet-tiny',
  imageSize: size,
  channels: 1,
  classes: ds.classes,
  head: { units: 64 },
  optimizer: { name: 'adam', learningRate: lr },
});
const model = buildModel(spec, { seed });
const trainer = new Trainer(model, spec);

function accuracy(d: { x: Float32Array; y: Int32Array }): { acc: number; cm: number[][] } {
  const k = ds.classes.length;
  const cm = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let s = 0; s < d.y.length; s += 128) {
    const e = Math.min(d.y.length, s + 128);
    const x = tf.tensor4d(d.x.subarray(s * size * size, e * size * size), [e - s, size, size, 1]);
    const p = trainer.predict(x);
    x.dispose();
    for (let i = 0; i < e - s; i++) {
      let best = 0;
      for (let c = 1; c < k; c++) if (p[i * k + c] > p[i * k + best]) best = c;
      cm[d.y[s + i]][best]++;
    }
  }
  const ok = cm.reduce((a, row, i) => a + row[i], 0);
  return { acc: ok / d.y.length, cm };
}

const rng = new Rng(`learnability:${seed}`);
const order = Array.from(train.y, (_, i) => i);
for (let epoch = 1; epoch <= epochs; epoch++) {
  const te = Date.now();
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  let loss = 0;
  let correct = 0;
  for (let s = 0; s + batch <= order.length; s += batch) {
    const idx = order.slice(s, s + batch);
    const xb = new Float32Array(batch * size * size);
    idx.forEach((k, i) => xb.set(train.x.subarray(k * size * size, (k + 1) * size * size), i * size * size));
    const x = tf.tensor4d(xb, [batch, size, size, 1]);
    const r = await trainer.trainBatch(x, idx.map((k) => train.y[k]));
    x.dispose();
    loss += r.loss * r.count;
    correct += r.correct;
  }
  const seen = Math.floor(order.length / batch) * batch;
  const v = accuracy(val);
  const t = accuracy(test);
  console.log(
    `epoch ${epoch}: train loss ${(loss / seen).toFixed(3)} acc ${(correct / seen).toFixed(3)} | val acc ${v.acc.toFixed(3)} | test acc ${t.acc.toFixed(3)} | ${((Date.now() - te) / 1000).toFixed(0)} s`,
  );
  if (epoch === epochs) {
    console.log(`test confusion matrix (rows true, columns predicted; ${ds.classes.join(', ')}):`);
    t.cm.forEach((row, i) => console.log(`  ${ds.classes[i].padEnd(13)} ${row.map((c) => String(c).padStart(4)).join(' ')}`));
  }
}
trainer.dispose();
model.dispose();
