import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { hashesFingerprint, recordSplit, trainedOn, trainingImages, SplitRecordSchema } from './split-record';
import { splitDataset } from './split';
import type { DataItem } from './scan';

const hash = (i: number) => createHash('sha256').update(`image-${i}`).digest('hex');
const items: DataItem[] = Array.from({ length: 60 }, (_, i) => ({ path: `/d/c${i % 2}/${i}.png`, label: i % 2, className: `c${i % 2}`, hash: hash(i) }));

test('a split record names the seed, the normalised ratios, the counts and a fingerprint of exactly the test images', () => {
  const splits = splitDataset({ items, presplit: false }, { seed: 42 });
  const r = recordSplit([splits], { seed: 42, ratios: [8, 1, 1], presplit: false });
  assert.ok(SplitRecordSchema.safeParse(r).success);
  assert.deepEqual(r.ratios, [0.8, 0.1, 0.1]);
  assert.deepEqual(r.counts, { train: splits.train.length, val: splits.val.length, test: splits.test.length });
  // order and duplicates do not matter; one image more or less does
  const testHashes = splits.test.map((it) => it.hash);
  assert.equal(hashesFingerprint([...testHashes].reverse().concat(testHashes[0])), r.testFingerprint);
  assert.notEqual(hashesFingerprint(testHashes.slice(1)), r.testFingerprint);
  assert.notEqual(recordSplit([splitDataset({ items, presplit: false }, { seed: 0 })], { seed: 0, ratios: [8, 1, 1], presplit: false }).testFingerprint, r.testFingerprint);
});

test('trainedOn finds the images whose content is among the training images, whatever their path', () => {
  const splits = splitDataset({ items, presplit: false }, { seed: 42 });
  const training = trainingImages([splits]);
  assert.equal(training.hashes.length, splits.train.length);
  assert.deepEqual(trainedOn(splits.test, training), []);
  const copy = { ...splits.train[0], path: '/elsewhere/renamed.png' };
  assert.deepEqual(trainedOn([...splits.test, copy], training), [copy]);
});
