// The local loss (FitConfig.localLoss): the transform a hospital derives from the
// epoch it trains on, that it reaches the hospital's training, and that
// evaluation does not see it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildModel, getNamedWeights, ModelSpecSchema, ParallelTrainer } from '@fedxray/model';
import { FitConfigSchema, type LocalLoss } from '@fedxray/protocol';
import { InlineTrainer } from './trainer';
import { PRIOR_EPSILON, localLogitTransform } from './local-loss';
import { blobs } from './test-images';

const close = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) < 1e-9);

test('localLogitTransform: none for ce, τ·log(share + ε) for logit-adjusted, the scale on absent classes for restricted', () => {
  assert.equal(localLogitTransform({ name: 'ce' }, [3, 1, 0]), undefined);
  const la = localLogitTransform({ name: 'logit-adjusted', tau: 2 }, [30, 10, 0])!;
  assert.deepEqual(la.scale, [1, 1, 1]);
  assert.ok(close(la.shift, [2 * Math.log(0.75 + PRIOR_EPSILON), 2 * Math.log(0.25 + PRIOR_EPSILON), 2 * Math.log(PRIOR_EPSILON)]), `${la.shift}`);
  const rs = localLogitTransform({ name: 'restricted', scale: 0.25 }, [30, 10, 0])!;
  assert.deepEqual(rs, { scale: [1, 1, 0.25], shift: [0, 0, 0] });
  assert.throws(() => localLogitTransform({ name: 'restricted', scale: 0.5 }, [0, 0]), /non-empty epoch/);
  assert.equal(localLogitTransform({ name: 'restricted', scale: 0.5 }, [3, 1, 2]), undefined, 'every class present: plain cross-entropy');
});

test('FitConfig: localLoss defaults to ce; its options have defaults and bounds', () => {
  const base = { localEpochs: 1, batchSize: 8 };
  assert.deepEqual(FitConfigSchema.parse(base).localLoss, { name: 'ce' });
  assert.deepEqual(FitConfigSchema.parse({ ...base, localLoss: { name: 'logit-adjusted' } }).localLoss, { name: 'logit-adjusted', tau: 1 });
  assert.deepEqual(FitConfigSchema.parse({ ...base, localLoss: { name: 'restricted' } }).localLoss, { name: 'restricted', scale: 0.5 });
  assert.equal(FitConfigSchema.safeParse({ ...base, localLoss: { name: 'restricted', scale: 2 } }).success, false);
  assert.equal(FitConfigSchema.safeParse({ ...base, localLoss: { name: 'focal' } }).success, false);
});

/** A hospital with 8 `left` and 2 `right` training images, in a run that also knows `other` (which the hospital may list as its own, empty, class). */
async function skewedHospital(o: { listsOther?: boolean; maxRepeat?: number } = {}): Promise<InlineTrainer> {
  const dir = await blobs(8);
  const item = (c: string, f: string, label: number) => ({ path: join(dir, c, f), label, className: c, hash: `${c}/${f}` });
  const files = (c: string) => readdirSync(join(dir, c)).sort();
  const [left, right] = [files('left'), files('right')];
  const trainer = await InlineTrainer.create({
    data: {
      classes: o.listsOther ? ['left', 'right', 'other'] : ['left', 'right'],
      train: [...left.slice(0, 8).map((f) => item('left', f, 0)), ...right.slice(0, 2).map((f) => item('right', f, 1))],
      val: [],
      test: [...right.slice(2, 6).map((f) => item('right', f, 1))],
    },
    backend: 'cpu',
    augment: false,
    threads: 0,
    ...(o.maxRepeat !== undefined ? { maxRepeat: o.maxRepeat } : {}),
  });
  return trainer;
}

test('the local loss reaches the hospital’s training with the prior of its balanced epoch; evaluation uses the plain model', { timeout: 120_000 }, async () => {
  const runClasses = ['left', 'right', 'other'];
  const spec = ModelSpecSchema.parse({ arch: 'densenet-tiny', imageSize: 16, classes: runClasses, head: { units: 8, dropout: 0 } });
  const model = buildModel(spec, { seed: 2 });
  const global = getNamedWeights(model);
  model.dispose();
  const adjusted = await skewedHospital();
  const plain = await skewedHospital();
  await adjusted.setup(spec as unknown as Record<string, unknown>, runClasses);
  await plain.setup(spec as unknown as Record<string, unknown>, runClasses);
  // balance max with the repeat bound 2: left 8, right min(8, 2 × 2) = 4, other none.
  assert.deepEqual(adjusted.epochCounts(), [8, 4, 0]);

  const seen: unknown[] = [];
  const create = ParallelTrainer.create;
  ParallelTrainer.create = (m, s, o) => {
    seen.push(o?.logitTransform);
    return create.call(ParallelTrainer, m, s, o);
  };
  try {
    const config = (localLoss: LocalLoss) => FitConfigSchema.parse({ localEpochs: 1, batchSize: 4, seed: 1, localLoss });
    await plain.fit(global, config({ name: 'ce' }));
    const r = await adjusted.fit(global, config({ name: 'logit-adjusted', tau: 1 }));
    await adjusted.fit(global, config({ name: 'restricted', scale: 0.5 }));
    assert.equal(seen[0], undefined, 'ce trains with the plain loss');
    const la = seen[1] as { scale: number[]; shift: number[] };
    assert.deepEqual(la.scale, [1, 1, 1]);
    assert.ok(close(la.shift, [Math.log(8 / 12 + PRIOR_EPSILON), Math.log(4 / 12 + PRIOR_EPSILON), Math.log(PRIOR_EPSILON)]), `${la.shift}`);
    assert.deepEqual(seen[2], { scale: [1, 1, 0.5], shift: [0, 0, 0] });

    // Evaluating the same weights gives the same summary at both hospitals: the plain model's
    // probabilities and cross-entropy, whatever loss a hospital trains with.
    const a = await adjusted.evaluate(r.weights, 'test');
    const b = await plain.evaluate(r.weights, 'test');
    assert.deepEqual(a, b);
    assert.equal(a.count, 4);
  } finally {
    ParallelTrainer.create = create;
    await adjusted.close();
    await plain.close();
  }
});

test('a class the hospital lists but holds no image of has no share of the epoch, also with the study\'s unbounded balancing', { timeout: 60_000 }, async () => {
  const runClasses = ['left', 'right', 'other'];
  const spec = ModelSpecSchema.parse({ arch: 'densenet-tiny', imageSize: 16, classes: runClasses, head: { units: 8, dropout: 0 } });
  const h = await skewedHospital({ listsOther: true, maxRepeat: 0 });
  try {
    await h.setup(spec as unknown as Record<string, unknown>, runClasses);
    assert.deepEqual(h.epochCounts(), [8, 8, 0]);
  } finally {
    await h.close();
  }
});
