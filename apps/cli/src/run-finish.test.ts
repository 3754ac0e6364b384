import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunResult } from '@fedxray/coordinator';
import { describeFinish, finishedExitCode } from './lib/run-finish';

const base: RunResult = { runId: 'r1', status: 'complete', rounds: [], final: { accuracy: 0.81234 }, runDir: '/d/runs/r1', modelDir: '/d/runs/r1/model' };

test('the end of a run in one line, and the exit code once it stops being served: 0 complete, 1 failed', () => {
  assert.equal(describeFinish(base), 'Run r1 complete: final accuracy 0.812; model in /d/runs/r1/model');
  const failed: RunResult = { ...base, status: 'failed', final: null, error: 'Waited 600 s for 2 hospitals, but only 1 connected (h1)' };
  assert.equal(describeFinish(failed), 'Run r1 failed: Waited 600 s for 2 hospitals, but only 1 connected (h1)');
  assert.deepEqual([finishedExitCode(base), finishedExitCode(failed)], [0, 1]);
});
