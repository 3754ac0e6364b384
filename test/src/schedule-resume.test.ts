// A run stopped exactly at a schedule switch (--schedule head:1,all:1) with a
// server optimizer resumes: the optimizer's state restarts, as a run that had
// not stopped would at the switch, instead of being refused for its names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Coordinator, createLogger } from '@fedxray/coordinator';
import { Hospital } from '@fedxray/hospital';
import { makeBlobDataset, tempDir } from './support/images';

const MODEL = { arch: 'densenet-tiny', imageSize: 16, classes: ['left', 'right', 'top'] };

// reliability: the coordinator stops (or crashes) right after the last head-only round of --schedule head:1,all:1, with FedAdam | on restart the run resumes at round 2; FedAdam's moments restart as they do at a live switch, instead of the restored state being refused | no | info "strategy state restarts: round 2 trains other tensors than round 1"
test('a run stopped at a schedule switch resumes with FedAdam: its server state restarts as at a live switch, and the run completes', { timeout: 240_000 }, async () => {
  const token = 'token-schedule-000000000000000';
  const settings = {
    dataDir: tempDir(),
    port: 0,
    rounds: 2,
    minAvailable: 1,
    minFit: 1,
    maxFailures: 0,
    maxRoundAttempts: 2,
    evaluateInitial: false,
    fit: { localEpochs: 1, batchSize: 8 },
    model: MODEL,
    strategy: { name: 'fedadam' },
    schedule: 'head:1,all:1',
    staticTokens: { h: token },
  };
  const { dir } = await makeBlobDataset({ perClass: 20, size: 16, seed: 21 });
  const hospital = (url: string) => Hospital.start({ coordinator: url, token, worker: false, trainer: { data: { dir }, backend: 'cpu', augment: false } });

  // Round 1 (head only) is committed, then the coordinator stops.
  const first = await Coordinator.start(settings);
  const h1 = await hospital(first.url);
  await new Promise<void>((resolve) => first.once('roundEnd', () => resolve()));
  await first.stop();
  await h1.close();

  const lines: string[] = [];
  const second = await Coordinator.start(settings, { logger: createLogger('pretty', (l) => lines.push(l)) });
  const h2 = await hospital(second.url);
  try {
    const result = await second.done;
    assert.equal(result.status, 'complete', `${result.error}\n${lines.join('\n')}`);
    assert.deepEqual(
      result.rounds.map((r) => [r.round, r.fit.trainable]),
      [
        [1, 'head'],
        [2, 'all'],
      ],
    );
    assert.ok(lines.some((l) => /strategy state restarts: round 2 trains other tensors than round 1/.test(l)), lines.join('\n'));
    assert.ok(!lines.some((l) => /Restored server state/.test(l)), 'the restored state was not refused');
  } finally {
    await h2.close();
    await second.close();
  }
});
