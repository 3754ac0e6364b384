import { test } from 'node:test';
import assert from 'node:assert/strict';
import { io as connect } from 'socket.io-client';
import { extract } from 'tar-stream';
import { PROTOCOL_VERSION } from '@fedxray/protocol';
import { Coordinator } from './coordinator';
import { TOKENS, config, fakeHospital, honest } from './testing';

/** The entry names of a tar archive. */
async function tarNames(bytes: Buffer): Promise<string[]> {
  const names: string[] = [];
  const tar = extract();
  tar.on('entry', (header, stream, next) => {
    names.push(header.name);
    stream.on('end', next).resume();
  });
  tar.end(bytes);
  await new Promise<void>((resolve, reject) => tar.on('finish', resolve).on('error', reject));
  return names;
}

test('after its run the coordinator still serves the API and the model archive, and a hospital that comes late is told the run is over', { timeout: 120_000 }, async () => {
  // Prepare
  const c = await Coordinator.start(config({ rounds: 1, batchNormCalibration: { enabled: false, maxExamples: 1 } }));
  const early = await fetch(`${c.url}/model.tar`);
  const a = fakeHospital(c.url, TOKENS.good, honest);
  const b = fakeHospital(c.url, TOKENS.bad, honest);
  try {
    // Execute: the run ends; the coordinator is not closed.
    const result = await c.done;
    a.socket.disconnect();
    b.socket.disconnect();
    const late = connect(c.url, { transports: ['websocket'], auth: { token: TOKENS.other, protocolVersion: PROTOCOL_VERSION }, reconnection: false });
    const bye = await new Promise<unknown>((resolve) => late.once('bye', resolve));
    late.disconnect();
    const state = await (await fetch(`${c.url}/api/state`)).json();
    const archive = await fetch(`${c.url}/model.tar`);
    const names = await tarNames(Buffer.from(await archive.arrayBuffer()));

    // Assert
    assert.equal(early.status, 404);
    assert.match((await early.json()).error, /no global model yet/);
    assert.equal(result.status, 'complete', result.error);
    assert.deepEqual(bye, { reason: 'run complete', finished: true });
    assert.equal(state.run.status, 'complete');
    assert.equal(archive.status, 200);
    assert.equal(archive.headers.get('content-type'), 'application/x-tar');
    const folder = `fedxray-model-${c.runId}-round-1`;
    assert.deepEqual(names, [`${folder}/model.json`, `${folder}/group1-shard1of1.bin`, `${folder}/fedxray.json`]);
  } finally {
    await c.close();
  }
});
