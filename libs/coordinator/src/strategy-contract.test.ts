// The coordinator keeps the strategy's contract: the strategy names the tensors
// kept local, says whose updates it used, and its config is parsed by the
// aggregation library's own parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isBatchNormTensor } from '@fedxray/aggregation';
import type { Fit } from '@fedxray/protocol';
import { Coordinator } from './coordinator';
import { TOKENS, config, fakeHospital, honest, runToEnd, shifted, type Behaviour } from './testing';

/** Records the keep-local list each fit carries, then trains honestly. */
function watching(seen: string[][]): Behaviour {
  return (round, fit: Fit) => {
    seen.push([...fit.config.keepLocal]);
    return honest(round, fit);
  };
}

test('a strategy configured with batchNorm: local is FedBN: hospitals keep every BatchNorm tensor, the global keeps its own', { timeout: 120_000 }, async () => {
  const c = await Coordinator.start(config({ rounds: 1, strategy: { name: 'fedavg', batchNorm: 'local' } }));
  const before = c.globalWeights();
  const seen: string[][] = [];
  const a = fakeHospital(c.url, TOKENS.good, watching(seen));
  const b = fakeHospital(c.url, TOKENS.bad, watching(seen));
  const result = await runToEnd(c, a, b);
  assert.equal(result.status, 'complete', result.error);
  const bn = before.filter((t) => isBatchNormTensor(t.name)).map((t) => t.name);
  assert.ok(bn.length > 0);
  assert.deepEqual(seen, [bn, bn]);
  const after = new Map(c.globalWeights().map((t) => [t.name, t.values]));
  for (const t of before) {
    const moved = after.get(t.name)![0] !== t.values[0];
    assert.equal(moved, !isBatchNormTensor(t.name), `${t.name} ${moved ? 'moved' : 'stayed'}`);
  }
  assert.deepEqual(result.rounds[0].fit.calibratedBy, [], 'nothing to recalibrate under FedBN');
});

test('keepBatchNormLocal is the same switch; contradicting the strategy’s batchNorm is refused', { timeout: 60_000 }, async () => {
  const c = await Coordinator.start(config({ rounds: 1, keepBatchNormLocal: true }));
  const seen: string[][] = [];
  const a = fakeHospital(c.url, TOKENS.good, watching(seen));
  const b = fakeHospital(c.url, TOKENS.bad, watching(seen));
  const result = await runToEnd(c, a, b);
  assert.equal(result.status, 'complete', result.error);
  assert.ok(seen[0].length > 0 && seen[0].every(isBatchNormTensor));
  assert.equal(c.state().run.config.strategy && (c.state().run.config.strategy as { batchNorm: string }).batchNorm, 'local');
  await assert.rejects(
    Coordinator.start(config({ keepBatchNormLocal: true, strategy: { name: 'fedavg', batchNorm: 'average' } })),
    /keepBatchNormLocal.*strategy\.batchNorm.*average/,
  );
});

test('MultiKrum: the round records who was used and who was discarded; only the used are credited', { timeout: 120_000 }, async () => {
  const c = await Coordinator.start(config({ rounds: 1, minAvailable: 3, minFit: 3, strategy: { name: 'multikrum', byzantine: 0, keep: 2 }, batchNormCalibration: { enabled: false } }));
  const a = fakeHospital(c.url, TOKENS.good, shifted(0.001));
  const b = fakeHospital(c.url, TOKENS.bad, shifted(0.0012));
  const outlier = fakeHospital(c.url, TOKENS.other, shifted(3));
  try {
    const result = await c.done;
    assert.equal(result.status, 'complete', result.error);
    const fit = result.rounds[0].fit;
    assert.deepEqual(fit.hospitals, ['bad', 'good', 'other'], 'every update arrived and was valid');
    assert.deepEqual(fit.used, ['bad', 'good']);
    assert.deepEqual(fit.discarded, ['other']);
    const credited = Object.fromEntries(c.state().hospitals.map((h) => [h.name, h.roundsContributed]));
    assert.deepEqual(credited, { bad: 1, good: 1, other: 0 });
    const row = c.store.rounds(c.runId).find((r) => r.round === 1)!;
    assert.deepEqual(row.fit?.discarded, ['other'], 'the store keeps it too');
    const api = await (await fetch(`${c.url}/api/state`)).json();
    assert.deepEqual(api.history[0].fit.discarded, ['other']);
  } finally {
    for (const h of [a, b, outlier]) h.socket.disconnect();
    await c.close();
  }
});

test('the strategy config is parsed by the aggregation library: a bad name lists the valid ones, an unknown option is named', { timeout: 30_000 }, async () => {
  await assert.rejects(Coordinator.start(config({ strategy: { name: 'fedavgg' } })), /Expected strategy name to be one of fedavg, .*but got "fedavgg"/);
  await assert.rejects(Coordinator.start(config({ strategy: { name: 'fedavg', groupUpdatez: 4 } })), /Invalid strategy: .*Unrecognized key: "groupUpdatez" \(valid: .*groupUpdates, serverLearningRate\)/);
});
