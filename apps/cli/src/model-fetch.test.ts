import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { downloadReporter } from './commands/model';
import type { Progress } from './lib/progress';

const BIN = fileURLToPath(new URL('../bin/fedxray.js', import.meta.url));
const KERAS_MD5 = '30ee3e1110167f948a6b9946edeeb738';
const FILE = 'densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5';

function run(cache: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, XDG_CACHE_HOME: cache, HTTP_PROXY: '', http_proxy: '', HTTPS_PROXY: '', https_proxy: '' };
    const child = spawn(process.execPath, [BIN, 'model', 'fetch', 'imagenet', '--arch', 'densenet121', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

test('model fetch refuses a file that is not Keras\' (from a mirror or --from-file), caches nothing, and offline says how to get it', async () => {
  const cache = await mkdtemp(join(tmpdir(), 'fedxray-cache-'));
  const body = randomBytes(200_000);
  const server = createServer((_req, res) => res.writeHead(200, { 'content-length': String(body.length) }).end(body));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/${FILE}`;
    const mirror = await run(cache, '--url', url);
    assert.equal(mirror.code, 1);
    assert.match(mirror.err, new RegExp(`expected md5 ${KERAS_MD5}, got [0-9a-f]{32} \\(200000 bytes\\); nothing was kept`));
    assert.match(mirror.err, /100% 0\.2 MB of 0\.2 MB/, 'a log gets progress lines');

    const local = join(cache, 'not-keras.h5');
    await writeFile(local, body);
    const fromFile = await run(cache, '--from-file', local);
    assert.equal(fromFile.code, 1);
    assert.match(fromFile.err, new RegExp(`not-keras\\.h5 is not ${FILE}: expected md5 ${KERAS_MD5}`));
    assert.deepEqual(await readdir(join(cache, 'fedxray', 'models')).catch(() => []), []);

    const offline = await run(cache, '--url', 'http://127.0.0.1:9/x.h5');
    assert.equal(offline.code, 1);
    const lines = offline.err.trim().split('\n');
    assert.match(lines.at(-1)!, new RegExp(`^fedxray: Could not reach 127\\.0\\.0\\.1:9 \\(ECONNREFUSED\\)\\. Get ${FILE} .*md5 ${KERAS_MD5}.*--from-file`));
  } finally {
    server.close();
    await rm(cache, { recursive: true, force: true });
  }
});

test('download progress: a bar redrawn on a terminal, a line every 10% in a log', () => {
  const lines: string[] = [];
  const updates: string[] = [];
  const fake = (tty: boolean) => ({ tty, line: (t: string) => lines.push(t), update: (t: string) => updates.push(t), done: () => {} }) as unknown as Progress;
  let clock = 0;
  const log = downloadReporter(fake(false), () => clock);
  for (let r = 0; r <= 1000; r += 50) {
    clock += 10;
    log({ received: r * 1000, total: 1_000_000, resumedFrom: 0 });
  }
  assert.equal(lines.length, 11);
  assert.match(lines[10], /100% 1\.0 MB of 1\.0 MB at /);
  const tty = downloadReporter(fake(true), () => clock);
  for (let r = 0; r <= 1000; r += 50) {
    clock += 40;
    tty({ received: r * 1000, total: 1_000_000, resumedFrom: 500_000 });
  }
  assert.ok(updates.length >= 5 && updates.length < 21, `${updates.length} redraws`);
  assert.match(updates.at(-1)!, /100% .*\(resumed at 0\.5 MB\)/);
});
