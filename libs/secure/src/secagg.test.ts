import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SecAggGraph } from '@fedxray/protocol';
import { neighbourMap } from './graph';
import { runInMemory, type DropStage } from './harness';
import { seededRandom } from './random';
import type { SecAggRoundConfig } from './round-config';
import { refused, rng, sample } from './testing';

const STAGES: DropStage[] = ['advertise', 'share', 'mask', 'unmask'];
const LENGTH = 1001;

function config(n: number, threshold: number, graph: SecAggGraph = { kind: 'full' }, session = 'run-1/round-1/fit'): SecAggRoundConfig {
  return { session, participants: Array.from({ length: n }, (_, i) => i + 1), threshold, graph, vectorLength: LENGTH };
}

/** Inputs that wrap: large words, so the sum overflows 2³² many times. */
function inputOf(index: number): Uint32Array {
  const out = new Uint32Array(LENGTH);
  seededRandom(`input ${index}`).fillWords(out);
  out[0] = 0xffffffff;
  return out;
}

function plainSum(indices: readonly number[]): Uint32Array {
  const sum = new Uint32Array(LENGTH);
  for (const p of indices) {
    const x = inputOf(p);
    for (let i = 0; i < LENGTH; i++) sum[i] += x[i];
  }
  return sum;
}

test('Without dropouts the coordinator gets exactly the sum of the inputs (mod 2³²)', () => {
  const run = runInMemory({ config: config(5, 3), input: inputOf, random: (p) => seededRandom(`client ${p}`) });
  assert.deepEqual(run.result.survivors, [1, 2, 3, 4, 5]);
  assert.deepEqual(run.result.dropped, []);
  assert.deepEqual(run.result.sum, plainSum([1, 2, 3, 4, 5]));
});

test('Random dropouts at every stage, up to n − t of them: the sum of the survivors, exactly', () => {
  const next = rng(2024);
  const n = 9;
  const t = 5;
  const stagesSeen = new Set<DropStage>();
  for (let trial = 0; trial < 12; trial++) {
    const k = Math.floor(next() * (n - t + 1)); // 0..n−t dropouts
    const drops = new Map<number, DropStage>(sample(config(n, t).participants, k, next).map((p) => [p, STAGES[Math.floor(next() * 4)]]));
    for (const s of drops.values()) stagesSeen.add(s);
    const run = runInMemory({ config: config(n, t, { kind: 'full' }, `trial ${trial}`), input: inputOf, drops });
    const expectedSurvivors = config(n, t).participants.filter((p) => !['advertise', 'share', 'mask'].includes(drops.get(p) ?? ''));
    assert.deepEqual(run.result.survivors, expectedSurvivors, `drops ${[...drops]}`);
    assert.deepEqual(
      run.result.dropped,
      [...drops].filter(([, s]) => s === 'mask').map(([p]) => p).sort((a, b) => a - b),
    );
    assert.deepEqual(run.result.sum, plainSum(expectedSurvivors), `drops ${[...drops]}`);
  }
  assert.deepEqual([...stagesSeen].sort(), [...STAGES].sort(), 'the trials cover dropouts at every stage');
});

test('One hospital drops after sending its masked input: its input stays in the sum', () => {
  const run = runInMemory({ config: config(4, 3), input: inputOf, drops: new Map([[2, 'unmask']]) });
  assert.deepEqual(run.result.survivors, [1, 2, 3, 4]);
  assert.deepEqual(run.result.sum, plainSum([1, 2, 3, 4]));
});

for (const stage of STAGES) {
  test(`More than n − t hospitals dropping at "${stage}" fails the sum with too_few_survivors`, () => {
    const drops = new Map<number, DropStage>([
      [1, stage],
      [3, stage],
      [5, stage],
    ]);
    refused(() => runInMemory({ config: config(6, 4), input: inputOf, drops }), 'too_few_survivors', /threshold is 4/);
  });
}

test('SecAgg+: a sparse graph of degree 6 among 20 hospitals sums exactly with dropouts at every stage', () => {
  const graph: SecAggGraph = { kind: 'sparse', degree: 6, seed: 'round 1' };
  const drops = new Map<number, DropStage>([
    [3, 'advertise'],
    [8, 'share'],
    [11, 'mask'],
    [17, 'mask'],
    [20, 'unmask'],
  ]);
  const run = runInMemory({ config: config(20, 4, graph), input: inputOf, drops });
  const survivors = config(20, 4).participants.filter((p) => ![3, 8, 11, 17].includes(p));
  assert.deepEqual(run.result.survivors, survivors);
  assert.deepEqual(run.result.dropped, [11, 17]);
  assert.deepEqual(run.result.absent, [3, 8]);
  assert.deepEqual(run.result.sum, plainSum(survivors));
  // Each hospital exchanged keys and shares with its 6 neighbours only, not all 19 others.
  const sealedBoxes = 6 * 94;
  assert.ok(run.bytes.get(1)!.sent - run.bytes.get(1)!.maskedInput < 2 * sealedBoxes + 1500, JSON.stringify(run.bytes.get(1)));
});

test('SecAgg+: a neighbourhood losing too many members fails the sum even when most hospitals survive', () => {
  // Degree 4: a closed neighbourhood is a hospital and 4 others; threshold 4 of those 5.
  const graph: SecAggGraph = { kind: 'sparse', degree: 4, seed: 'round 2' };
  const cfg = config(12, 4, graph);
  const [a, b] = neighbourMap(cfg.participants, graph).get(1)!;
  // Two of hospital 1's neighbours drop after sharing: 10 of 12 survive, but hospital 1's secrets have 3 holders left.
  const drops = new Map<number, DropStage>([
    [a, 'mask'],
    [b, 'mask'],
  ]);
  refused(() => runInMemory({ config: cfg, input: inputOf, drops }), 'too_few_survivors', /held by 3 survivors; the threshold is 4/);
});

test('What the coordinator receives: masked inputs are uniform words, whatever they hide', () => {
  // Every hospital's input is all zeros; each masked input must still look like uniform random bytes.
  const cfg = { ...config(3, 2), vectorLength: 16_384 };
  const masked: Uint8Array[] = [];
  const run = runInMemory({
    config: cfg,
    input: () => new Uint32Array(cfg.vectorLength),
    onReceive: (_from, msg) => {
      const m = msg as { masked?: Uint8Array };
      if (m.masked) masked.push(m.masked);
    },
  });
  assert.ok(run.result.sum.every((v) => v === 0));
  assert.equal(masked.length, 3);
  for (const bytes of masked) {
    const counts = new Array(256).fill(0);
    for (const b of bytes) counts[b]++;
    const expected = bytes.length / 256;
    const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    // 255 degrees of freedom: the 0.999 quantile is about 330.
    assert.ok(chi2 < 330, `χ² ${chi2.toFixed(1)}`);
  }
});
