import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loopbackCoordinator } from './support/coordinator';
import { makeBlobDataset } from './support/images';
import { runCli } from './support/processes';

/** The JSON lines of a process's output (tfjs may add plain lines of its own). */
function jsonLines(output: string): Record<string, any>[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

test('without a terminal the hospital logs progress lines (pretty, or JSON with --log json), and --normalize reaches its trainer', { timeout: 240_000 }, async () => {
  // Prepare: a coordinator waiting for two hospitals; each runs `fedxray hospital` with its output piped, as under systemd.
  const tokens = { json: 'token-log-json-000000000000', pretty: 'token-log-pretty-0000000000' };
  const coordinator = await loopbackCoordinator(tokens, { fit: { localEpochs: 2, batchSize: 8 } });
  const common = ['--coordinator', coordinator.url, '--backend', 'cpu', '--no-augment', '--progress-every', '1'];
  const a = await makeBlobDataset({ perClass: 16, size: 16, seed: 31 });
  const b = await makeBlobDataset({ perClass: 16, size: 16, seed: 32 });
  const json = runCli(['hospital', ...common, '--data', a.dir, '--log', 'json', '--normalize', 'imagenet'], { FEDXRAY_TOKEN: tokens.json });
  const pretty = runCli(['hospital', ...common, '--data', b.dir], { FEDXRAY_TOKEN: tokens.pretty });
  try {
    // Execute
    const result = await coordinator.done;
    assert.equal(result.status, 'complete', result.error);
    assert.equal(await json.exited, 0, json.output());
    assert.equal(await pretty.exited, 0, pretty.output());
  } finally {
    json.child.kill('SIGKILL');
    pretty.child.kill('SIGKILL');
    await coordinator.close();
  }

  // Assert: JSON lines with every field of a progress report, the split evaluated, and the end.
  const events = jsonLines(json.output());
  const byMsg = (msg: string) => events.filter((e) => e.msg === msg);
  assert.equal(byMsg('data')[0].normalize, 'imagenet');
  const progress = byMsg('progress').filter((e) => e.phase === 'fit');
  assert.ok(progress.length >= 2, `progress lines: ${JSON.stringify(progress)}`);
  for (const p of progress) {
    for (const k of ['ts', 'round', 'epoch', 'epochs', 'done', 'total', 'loss', 'imagesPerSecond', 'etaSeconds']) assert.ok(k in p, `${k} missing from ${JSON.stringify(p)}`);
  }
  assert.ok(progress.some((p) => typeof p.imagesPerSecond === 'number' && p.imagesPerSecond > 0 && typeof p.etaSeconds === 'number'), 'speed and ETA once known');
  assert.ok(progress.some((p) => p.epoch === 2 && p.done === p.total), 'the last epoch’s end is logged');
  assert.equal(byMsg('trained')[0].delivery, 'accepted');
  assert.deepEqual(
    byMsg('evaluated')
      .map((e) => `${e.split} ${e.delivery}`)
      .sort(),
    ['test accepted', 'val accepted'],
  );
  assert.deepEqual(byMsg('finished').map((e) => e.finished), [true]);
  // Pretty lines with no terminal: progress lines, then what was evaluated (named by its split), and the end with nothing between.
  const text = pretty.output();
  assert.match(text, /Hospital data: images of 3 classes \(left, right, top\), .*; normalize rescale/);
  assert.match(text, /Round 1 training: epoch 1\/2, \d+\/\d+ images, loss \d\.\d{3}/);
  assert.match(text, /Round 1 training: epoch 2\/2, (\d+)\/\1 images, loss \d\.\d{3}, [\d.]+ images\/s\n/);
  assert.match(text, /Round 1: trained on \d+ images in .*; update accepted by the coordinator/);
  assert.match(text, /Round 1: evaluated the global model on \d+ local test images; summary accepted by the coordinator\n/);
  assert.match(text, /Round 1: evaluated the global model on \d+ local validation images; summary accepted by the coordinator\n/);
  assert.match(text, /summary accepted by the coordinator\nFederation over: /);
  assert.doesNotMatch(text, /reconnecting/);
  assert.ok(!text.includes('\r') && !text.includes('\u001b['), 'no terminal control characters in a log');
});

// reliability: fedxray hospital pointed at https:// on a plain HTTP port | one line names the protocol mismatch with a suggestion, and the command exits 1 after --give-up-after | no | "protocol mismatch: host:port answered in plain HTTP, not TLS"
test('a hospital pointed at https:// on a plain HTTP port says why in one line with a suggestion, and gives up after --give-up-after', { timeout: 120_000 }, async () => {
  const server = createServer((_req, res) => res.writeHead(200).end('a plain web server'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const { dir } = await makeBlobDataset({ perClass: 4, size: 16, seed: 33 });
  const p = runCli(['hospital', '--coordinator', `https://127.0.0.1:${port}`, '--data', dir, '--backend', 'cpu', '--give-up-after', '2'], { FEDXRAY_TOKEN: 'token-mismatch-0000000000' });
  try {
    const code = await p.exited;
    const out = p.output();
    assert.equal(code, 1, out);
    assert.match(out, new RegExp(`Cannot reach the coordinator at https://127\\.0\\.0\\.1:${port}: protocol mismatch: 127\\.0\\.0\\.1:${port} answered in plain HTTP, not TLS\\n`));
    assert.match(out, new RegExp(`  Suggestion: if the coordinator runs without TLS, use http://127\\.0\\.0\\.1:${port}; otherwise check the port\\. Giving up in 2 s if this does not change\\.`));
    assert.match(out, /fedxray: Gave up connecting to .* after \d+ s and \d+ attempts: protocol mismatch/);
    assert.equal(out.match(/Cannot reach/g)?.length, 1, 'reported once, not at every attempt');
    assert.doesNotMatch(out, /websocket error/);
  } finally {
    p.child.kill('SIGKILL');
    server.close();
  }
});
