import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Hospital } from '@fedxray/hospital';
import { makeBlobDataset, tempDir } from './support/images';
import { runCli } from './support/processes';

const MODEL = { arch: 'densenet-tiny', imageSize: 16, classes: ['left', 'right', 'top'] };
const TOKEN = 'token-serving-00000000000000';

/** A coordinator config file for a one-round run of the tiny model with hospital h1. */
function configFile(dir: string): string {
  const path = join(dir, 'coordinator.json');
  writeFileSync(
    path,
    JSON.stringify({
      heartbeatIntervalMs: 500,
      evaluateInitial: false,
      batchNormCalibration: { enabled: false, maxExamples: 1 },
      fit: { localEpochs: 1, batchSize: 8 },
      model: MODEL,
      staticTokens: { h1: TOKEN },
    }),
  );
  return path;
}

test('after the run the coordinator keeps serving read-only (state, runs, /model/, /model.tar that predict reads) until Ctrl-C, which then exits 0', { timeout: 240_000 }, async () => {
  // Prepare: a coordinator waiting for one hospital.
  const work = tempDir();
  const coordinator = runCli(['coordinator', '--data-dir', join(work, 'data'), '--config', configFile(work), '--port', '0', '--rounds', '1', '--min-hospitals', '1']);
  let hospital: Hospital | null = null;
  try {
    const url = /listening on (\S+)/.exec(await coordinator.waitFor(/listening on \S+\n/))![1];
    await coordinator.waitFor(/waiting for 1 of 1 hospital: h1\n/);
    const { dir } = await makeBlobDataset({ perClass: 16, size: 16, seed: 51 });
    hospital = await Hospital.start({ coordinator: url, token: TOKEN, worker: false, trainer: { data: { dir }, backend: 'cpu', augment: false } });

    // Execute: the run ends; then read what it serves.
    const modelDir = /model in (\S+)\n/.exec(await coordinator.waitFor(/complete: final accuracy .*; model in \S+\n/))![1];
    await coordinator.waitFor(/Still serving the dashboard, the API and \/model\/ \(read-only\)/);
    assert.equal((await hospital.done).finished, true);
    const state = await (await fetch(`${url}/api/state`)).json();
    const runs = await (await fetch(`${url}/api/runs`)).json();
    const modelJson = await fetch(`${url}/model/model.json`);
    const archive = await fetch(`${url}/model.tar`);
    const tarPath = join(work, 'downloaded.tar');
    writeFileSync(tarPath, Buffer.from(await archive.arrayBuffer()));
    const fromArchive = runCli(['predict', join(dir, 'left', 'left-0.png'), '--model', tarPath, '--backend', 'cpu', '--json']);
    const fromFolder = runCli(['predict', join(dir, 'left', 'left-0.png'), '--model', modelDir, '--backend', 'cpu', '--json']);
    assert.equal(await fromArchive.exited, 0, fromArchive.output());
    assert.equal(await fromFolder.exited, 0, fromFolder.output());
    coordinator.child.kill('SIGINT');
    const code = await coordinator.exited;

    // Assert
    assert.equal(state.run.status, 'complete');
    assert.deepEqual(
      runs.runs.map((r: { status: string }) => r.status),
      ['complete'],
    );
    assert.equal(modelJson.status, 200);
    assert.equal(archive.status, 200);
    assert.match(archive.headers.get('content-disposition') ?? '', /^attachment; filename="fedxray-model-run-[\w-]+-round-1\.tar"$/);
    const probabilities = (out: string) => JSON.parse(out.slice(out.indexOf('{'))).results[0].probabilities;
    assert.deepEqual(probabilities(fromArchive.output()), probabilities(fromFolder.output()));
    assert.equal(code, 0, coordinator.output());
    const log = coordinator.output();
    assert.match(log, /\[info\] run finished status=complete\n/);
    assert.match(log, /Stopped serving run run-[\w-]+\n/);
    assert.doesNotMatch(log, /undefined|\[error\]/);
  } finally {
    await hospital?.close();
    coordinator.child.kill('SIGKILL');
  }
});

test('Ctrl-C while the coordinator waits for hospitals stops the run without an error line, and exits 130', { timeout: 120_000 }, async () => {
  const work = tempDir();
  const coordinator = runCli(['coordinator', '--data-dir', join(work, 'data'), '--config', configFile(work), '--port', '0', '--min-hospitals', '2']);
  try {
    await coordinator.waitFor(/\[info\] waiting for 2 of 2 hospitals: h1, but only 1 more is registered \(fedxray coordinator add-hospital <name>\)\n/);
    coordinator.child.kill('SIGINT');
    assert.equal(await coordinator.exited, 130, coordinator.output());
    const log = coordinator.output();
    assert.match(log, /Stopping: the run can be resumed/);
    assert.match(log, /\[info\] run finished status=stopped\n/);
    assert.doesNotMatch(log, /\[error\]|fedxray: /);
  } finally {
    coordinator.child.kill('SIGKILL');
  }
});
