import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStrategy, parseStrategyConfig } from './config';
import { assertClose, model, referenceMean } from './testing';

// Hand-written float64 references, one coordinate at a time, for two rounds.

function rounds(seed: number) {
  const global0 = model(seed, 0, 0.5);
  const round1 = [
    { hospitalId: 'a', examples: 10, weights: model(seed + 1, 0.1, 0.5) },
    { hospitalId: 'b', examples: 30, weights: model(seed + 2, -0.05, 0.5) },
  ];
  const round2 = [
    { hospitalId: 'a', examples: 20, weights: model(seed + 3, 0.02, 0.5) },
    { hospitalId: 'b', examples: 5, weights: model(seed + 4, 0.2, 0.5) },
    { hospitalId: 'c', examples: 12, weights: model(seed + 5, -0.1, 0.5) },
  ];
  return { global0, round1, round2 };
}

/** Runs two rounds through a strategy; the second starts from the first's result. */
function runStrategy(config: unknown, seed: number) {
  const { global0, round1, round2 } = rounds(seed);
  const s = createStrategy(parseStrategyConfig(config));
  s.begin(1, global0);
  round1.forEach((u) => s.accumulate(u));
  const g1 = s.finish().weights;
  s.begin(2, g1);
  round2.forEach((u) => s.accumulate(u));
  const g2 = s.finish().weights;
  return { g1, g2, global0, round1, round2 };
}

test('FedAvgM follows x ← x − η·v, v ← β·v + (x − mean) over two rounds', () => {
  const eta = 0.7;
  const beta = 0.9;
  const { g1, g2, global0, round1, round2 } = runStrategy({ name: 'fedavgm', serverLearningRate: eta, serverMomentum: beta }, 10);
  const mean1 = referenceMean(round1);
  const x0 = global0.map((t) => Array.from(t.values));
  const v1 = x0.map((t, s) => t.map((x, i) => x - mean1[s][i]));
  const x1 = x0.map((t, s) => t.map((x, i) => x - eta * v1[s][i]));
  assertClose(g1, x1);
  const mean2 = referenceMean(round2);
  const x1f = g1.map((t) => Array.from(t.values));
  const v2 = x1f.map((t, s) => t.map((x, i) => beta * v1[s][i] + (x - mean2[s][i])));
  const x2 = x1f.map((t, s) => t.map((x, i) => x - eta * v2[s][i]));
  assertClose(g2, x2);
});

const rules = {
  fedadam: (v: number, d2: number, b2: number) => b2 * v + (1 - b2) * d2,
  fedyogi: (v: number, d2: number, b2: number) => v - (1 - b2) * d2 * Math.sign(v - d2),
  fedadagrad: (v: number, d2: number) => v + d2,
};

for (const [name, rule] of Object.entries(rules)) {
  test(`${name} matches a hand-written Reddi et al. update over two rounds`, () => {
    const p = { eta: 0.05, beta1: 0.8, beta2: 0.95, tau: 0.01 };
    const { g1, g2, global0, round1, round2 } = runStrategy({ name, ...p }, 20);
    let x = global0.map((t) => Array.from(t.values));
    let m = x.map((t) => t.map(() => 0));
    let v = x.map((t) => t.map(() => p.tau * p.tau));
    const results = [g1, g2];
    [round1, round2].forEach((round, r) => {
      const mean = referenceMean(round);
      const d = x.map((t, s) => t.map((xi, i) => mean[s][i] - xi));
      m = m.map((t, s) => t.map((mi, i) => p.beta1 * mi + (1 - p.beta1) * d[s][i]));
      v = v.map((t, s) => t.map((vi, i) => rule(vi, d[s][i] * d[s][i], p.beta2)));
      const next = x.map((t, s) => t.map((xi, i) => xi + (p.eta * m[s][i]) / (Math.sqrt(v[s][i]) + p.tau)));
      assertClose(results[r], next, 2e-6);
      // the strategy starts round 2 from its own float32 output, so the reference does too
      x = results[r].map((t) => Array.from(t.values));
    });
    // the server step moved the weights: the test would notice a plain FedAvg
    const plain = referenceMean(round1);
    assert.ok(Math.abs(g1[6].values[0] - plain[6][0]) > 1e-4);
  });
}

test('FedAdam defaults are the documented ones', () => {
  const c = parseStrategyConfig({ name: 'fedadam' });
  assert.deepEqual(c, { name: 'fedadam', batchNorm: 'average', groupUpdates: 16, eta: 0.01, beta1: 0.9, beta2: 0.99, tau: 1e-3 });
  const g = parseStrategyConfig({ name: 'fedadagrad' });
  assert.ok(g.name === 'fedadagrad' && g.beta1 === 0);
});
