import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import { pack } from 'tar-stream';
import { packModel, unpackModel } from './archive';
import { buildModel } from './densenet';
import { loadModel, saveModel } from './io';
import { randomImages, tinySpec } from './test-util';

await tf.setBackend('cpu');

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'fedxray-archive-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A tar archive holding `entries` (name → bytes), made with tar-stream. */
async function tarOf(entries: Record<string, string>): Promise<Buffer> {
  const p = pack();
  for (const [name, body] of Object.entries(entries)) p.entry({ name }, body);
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test('a model archive holds model.json, its shards and fedxray.json (no server state); system tar unpacks it for tf.loadLayersModel, unpackModel for loadModel', async () => {
  await withDir(async (dir) => {
    // Prepare: a saved model with a checkpoint's strategy state beside it.
    const spec = tinySpec({ classes: ['covid19', 'normal', 'pneumonia'] });
    const model = buildModel(spec, { seed: 5 });
    const x = randomImages(2, 32, 1);
    const expected = (model.predict(x) as tf.Tensor).arraySync();
    await saveModel(model, join(dir, 'm'), { spec, round: 2 });
    await writeFile(join(dir, 'm', 'strategy-state.bin'), 'server state');
    // Execute
    await pipeline(await packModel(join(dir, 'm'), 'fedxray-model-round-2'), createWriteStream(join(dir, 'model.tar')));
    const listed = execFileSync('tar', ['-tf', join(dir, 'model.tar')], { encoding: 'utf8' }).trim().split('\n').sort();
    execFileSync('tar', ['-xf', join(dir, 'model.tar'), '-C', dir]);
    const server = createServer((req, res) => {
      readFile(join(dir, 'fedxray-model-round-2', new URL(req.url!, 'http://x').pathname.slice(1))).then(
        (b) => res.end(b),
        () => res.writeHead(404).end(),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    let plain: tf.LayersModel;
    try {
      plain = await tf.loadLayersModel(`http://127.0.0.1:${(server.address() as AddressInfo).port}/model.json`);
    } finally {
      server.close();
    }
    const unpacked = await unpackModel(join(dir, 'model.tar'), join(dir, 'unpacked'));
    const loaded = await loadModel(unpacked);
    // Assert
    assert.deepEqual(listed, ['fedxray-model-round-2/fedxray.json', 'fedxray-model-round-2/group1-shard1of1.bin', 'fedxray-model-round-2/model.json']);
    assert.deepEqual((plain.predict(x) as tf.Tensor).arraySync(), expected);
    assert.equal(unpacked, join(dir, 'unpacked', 'fedxray-model-round-2'));
    assert.deepEqual(loaded.spec, spec);
    assert.equal(loaded.meta.round, 2);
    assert.deepEqual((loaded.model.predict(x) as tf.Tensor).arraySync(), expected);
    model.dispose();
    plain.dispose();
    loaded.model.dispose();
    x.dispose();
  });
});

test('unpackModel reads a gzipped archive and a flat one, and refuses entries outside its folder, links and archives without one model.json', async () => {
  await withDir(async (dir) => {
    await writeFile(join(dir, 'flat.tar.gz'), gzipSync(await tarOf({ 'model.json': '{}', 'fedxray.json': '{}' })));
    assert.equal(await unpackModel(join(dir, 'flat.tar.gz'), join(dir, 'flat')), join(dir, 'flat'));

    await writeFile(join(dir, 'evil.tar'), await tarOf({ '../evil.txt': 'x', 'model.json': '{}' }));
    await assert.rejects(unpackModel(join(dir, 'evil.tar'), join(dir, 'evil')), /refusing an entry outside the folder it unpacks into: \.\.\/evil\.txt/);

    const link = pack();
    link.entry({ name: 'model.json', type: 'symlink', linkname: '/etc/passwd' });
    link.finalize();
    const chunks: Buffer[] = [];
    for await (const c of link) chunks.push(c as Buffer);
    await writeFile(join(dir, 'link.tar'), Buffer.concat(chunks));
    await assert.rejects(unpackModel(join(dir, 'link.tar'), join(dir, 'link')), /expected only files and folders in a model archive, but model\.json is a symlink/);

    await writeFile(join(dir, 'none.tar'), await tarOf({ 'readme.txt': 'x' }));
    await assert.rejects(unpackModel(join(dir, 'none.tar'), join(dir, 'none')), /Expected one model\.json in the archive .*none\.tar, but found none/);

    await writeFile(join(dir, 'junk.tar'), 'this is not a tar archive at all, just some text that is long enough '.repeat(20));
    await assert.rejects(unpackModel(join(dir, 'junk.tar'), join(dir, 'junk')), /Cannot unpack .*junk\.tar as a tar archive of a model/);
  });
});
