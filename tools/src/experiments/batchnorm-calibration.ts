/**
 * What exact BatchNorm recalibration changes, against the moving-average
 * calibration it replaced and against none, on the same data and the same
 * federation. Usage (defaults shown):
 *   node --import tsx tools/src/experiments/batchnorm-calibration.ts \
 *     [--data .cache/xray-demo] [--arch densenet-small] [--image-size 64] [--momentum 0.99] \
 *     [--hospitals 3] [--rounds 3] [--local-epochs 2] [--max-examples 128] [--backend wasm] [--seed 42]
 * Without --data it generates (or reuses) the demo X-rays in .cache/xray-demo.
 *
 * Each arm runs the same federation: hospitals (a Dirichlet(1) label skew of
 * the data, as `simulate --demo` makes) train with the library's own trainer,
 * FedAvg averages their weights by training images, and then the arm's
 * calibration sets the global model's BatchNorm statistics:
 *   none   the averaged statistics;
 *   drift  each hospital runs the global model forward in training mode over
 *          up to 512 of its images in batches of 32, each layer's moving
 *          average moving by (1 − momentum) per batch, and the statistics are
 *          pooled (the calibration before exact recalibration);
 *   exact  each hospital collects the exact statistics of the same images
 *          (BatchNormStatsCollector), pooled exactly (poolBatchNormStats).
 * The global model is then evaluated on every hospital's test split (pooled
 * metrics). Training never reads the moving statistics, so the three arms train
 * identical weights; the script checks that, so the arms differ only in calibration.
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InlineTrainer, type LocalTrainer } from '@fedxray/hospital';
import { batches, partition, scanDataset, splitDataset, type DataItem } from '@fedxray/data';
import { computeMetrics, mergeSummaries } from '@fedxray/evaluation';
import { weightedMean } from '@fedxray/aggregation';
import {
  ModelSpecSchema,
  applyBatchNormStats,
  batchNormStatNames,
  buildModel,
  getNamedWeights,
  poolBatchNormStats,
  setNamedWeights,
  type BatchNormStatsReport,
  type ModelSpec,
} from '@fedxray/model';
import type { NamedWeights } from '@fedxray/protocol';
import { ensureDemoData } from '../xray/generate';

const ARMS = ['none', 'drift', 'exact'] as const;
type Arm = (typeof ARMS)[number];
/** What the coordinator asks each hospital to calibrate on. */
const CALIBRATION_EXAMPLES = 512;

const { values: flags } = parseArgs({
  options: {
    data: { type: 'string' },
    arch: { type: 'string', default: 'densenet-small' },
    'image-size': { type: 'string', default: '64' },
    momentum: { type: 'string', default: '0.99' },
    hospitals: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    'local-epochs': { type: 'string', default: '2' },
    'max-examples': { type: 'string', default: '128' },
    backend: { type: 'string', default: 'wasm' },
    seed: { type: 'string', default: '42' },
  },
});
const num = (name: keyof typeof flags) => {
  const v = Number(flags[name]);
  if (!Number.isFinite(v)) throw new Error(`--${name}: expected a number, got ${flags[name]}`);
  return v;
};
const seed = num('seed');
const rounds = num('rounds');

interface Site {
  classes: string[];
  train: DataItem[];
  val: DataItem[];
  test: DataItem[];
}

async function planSites(dir: string): Promise<Site[]> {
  const ds = await scanDataset(dir);
  const split = splitDataset(ds, { seed });
  const tagged = (['train', 'val', 'test'] as const).flatMap((s) => split[s].map((it) => ({ ...it, split: s })));
  return partition(tagged, num('hospitals'), 'dirichlet:1', seed).map((items) => ({
    classes: ds.classes,
    train: items.filter((it) => it.split === 'train'),
    val: items.filter((it) => it.split === 'val'),
    test: items.filter((it) => it.split === 'test'),
  }));
}

/** The calibration before exact recalibration: training-mode forward passes, each moving every layer's average by (1 − momentum). */
function driftCalibration(spec: ModelSpec, global: NamedWeights, site: Site): Promise<BatchNormStatsReport> {
  return (async () => {
    const model = buildModel(spec);
    setNamedWeights(model, global);
    let examples = 0;
    // the images, order and batches the hospital's trainer uses (its seed 0 + 7919)
    for await (const b of batches(site.train, { imageSize: spec.imageSize, channels: spec.channels as 1 | 3, batchSize: 32, shuffle: true, seed: 7919, augment: false, balance: 'none', maxExamples: CALIBRATION_EXAMPLES })) {
      tf.tidy(() => void model.apply(tf.tensor4d(b.x, [b.n, b.imageSize, b.imageSize, b.channels]), { training: true }));
      examples += b.n;
    }
    const names = new Set(batchNormStatNames(global));
    const stats = getNamedWeights(model).filter((w) => names.has(w.name));
    model.dispose();
    return { examples, stats };
  })();
}

interface ArmResult {
  /** Pooled test accuracy and loss of the calibrated global model, per round. */
  accuracy: number[];
  loss: number[];
  /** The hospitals' training accuracy (training mode: batch statistics), per round. */
  trainAccuracy: number[];
  /** The last round's averaged weights, BatchNorm statistics left out. */
  trained: NamedWeights;
}

async function runArm(arm: Arm, spec: ModelSpec, sites: Site[]): Promise<ArmResult> {
  const trainers: LocalTrainer[] = [];
  for (const s of sites) {
    const t = await InlineTrainer.create({ data: s, backend: flags.backend as 'wasm', seed: 0, threads: 0 });
    await t.setup(spec as unknown as Record<string, unknown>, spec.classes);
    trainers.push(t);
  }
  const initial = buildModel(spec, { seed });
  let global = getNamedWeights(initial);
  initial.dispose();
  const accuracy: number[] = [];
  const loss: number[] = [];
  const trainAccuracy: number[] = [];
  const statNames = new Set(batchNormStatNames(global));
  let trained: NamedWeights = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      const fits = [];
      for (const t of trainers) {
        fits.push(
          await t.fit(global, { localEpochs: num('local-epochs'), batchSize: 32, proximalMu: 0, keepLocal: [], weightsDtype: 'float32', maxExamplesPerEpoch: num('max-examples'), seed: seed + round, localLoss: { name: 'ce' } }),
        );
      }
      const mean = weightedMean(
        fits.map((f) => f.weights.map((w) => w.values)),
        fits.map((f) => f.examples),
      );
      global = global.map((w, i) => ({ ...w, values: mean[i] }));
      trainAccuracy.push(fits.reduce((a, f) => a + f.metrics.accuracy * f.examples, 0) / fits.reduce((a, f) => a + f.examples, 0));
      trained = global.filter((w) => !statNames.has(w.name));
      if (arm !== 'none') {
        const reports = arm === 'exact' ? await Promise.all(trainers.map((t) => t.calibrate(global, CALIBRATION_EXAMPLES))) : await Promise.all(sites.map((s) => driftCalibration(spec, global, s)));
        global = applyBatchNormStats(global, poolBatchNormStats(reports));
      }
      const m = computeMetrics(mergeSummaries(await Promise.all(trainers.map((t) => t.evaluate(global, 'test')))));
      accuracy.push(m.accuracy);
      loss.push(m.loss);
      process.stderr.write(`${arm} round ${round}: test accuracy ${m.accuracy.toFixed(3)}, loss ${m.loss.toFixed(3)}\n`);
    }
  } finally {
    for (const t of trainers) await t.close();
  }
  return { accuracy, loss, trainAccuracy, trained };
}

const started = Date.now();
const data = flags.data ?? (await ensureDemoData('.cache')).out;
const sites = await planSites(data);
const spec = ModelSpecSchema.parse({ arch: flags.arch, imageSize: num('image-size'), classes: sites[0].classes, batchNormMomentum: num('momentum') });
process.stderr.write(
  `${spec.arch} ${spec.imageSize}×${spec.imageSize}, BatchNorm momentum ${spec.batchNormMomentum}, ${sites.length} hospitals (train ${sites.map((s) => s.train.length).join('/')}, test ${sites
    .map((s) => s.test.length)
    .join('/')}), ${rounds} rounds × ${flags['local-epochs']} local epochs of ≤ ${flags['max-examples']} images, data ${join(data)}\n`,
);
const results = new Map<Arm, ArmResult>();
for (const arm of ARMS) results.set(arm, await runArm(arm, spec, sites));
const reference = results.get('exact')!.trained;
const identical = ARMS.every((a) => results.get(a)!.trained.every((w, i) => w.values.every((v, k) => v === reference[i].values[k])));
console.log(`| round | hospitals' training accuracy | ${ARMS.map((a) => `${a}: test accuracy (loss)`).join(' | ')} |`);
console.log(`| --- | --- | ${ARMS.map(() => '---').join(' | ')} |`);
for (let r = 0; r < rounds; r++) {
  const arms = ARMS.map((a) => `${results.get(a)!.accuracy[r].toFixed(3)} (${results.get(a)!.loss[r].toFixed(3)})`);
  console.log(`| ${r + 1} | ${results.get('exact')!.trainAccuracy[r].toFixed(3)} | ${arms.join(' | ')} |`);
}
console.log(`\nTrained weights identical in every arm: ${identical ? 'yes' : 'NO'}. Took ${Math.round((Date.now() - started) / 1000)} s.`);
if (!identical) process.exitCode = 1;
