import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDirAtomic, writeFileAtomic } from './atomic';

const scratch = () => mkdtempSync(join(tmpdir(), 'fedxray-atomic-'));

test('writeFileAtomic replaces the content and leaves no temporary file', () => {
  const dir = scratch();
  const path = join(dir, 'state.json');
  writeFileSync(path, 'old');
  writeFileAtomic(path, '{"new":true}');
  writeFileAtomic(join(dir, 'blob.bin'), new Uint8Array([1, 2, 3]));
  assert.equal(readFileSync(path, 'utf8'), '{"new":true}');
  assert.deepEqual([...readFileSync(join(dir, 'blob.bin'))], [1, 2, 3]);
  assert.deepEqual(readdirSync(dir).sort(), ['blob.bin', 'state.json']);
  assert.throws(() => writeFileAtomic(join(dir, 'no-such-dir', 'x'), 'x'), /ENOENT/);
  assert.deepEqual(readdirSync(dir).sort(), ['blob.bin', 'state.json']);
});

test('writeDirAtomic swaps a whole directory in; a failing fill leaves the old one as it was', async () => {
  const root = scratch();
  const dir = join(root, 'nested', 'model');
  await writeDirAtomic(dir, async (tmp) => writeFile(join(tmp, 'a.txt'), 'first'));
  assert.equal(readFileSync(join(dir, 'a.txt'), 'utf8'), 'first');
  await writeDirAtomic(dir, async (tmp) => writeFile(join(tmp, 'b.txt'), 'second'));
  assert.deepEqual(readdirSync(dir), ['b.txt'], 'the old content is gone, not merged');
  await assert.rejects(
    writeDirAtomic(dir, async (tmp) => {
      await writeFile(join(tmp, 'c.txt'), 'half');
      throw new Error('disk full');
    }),
    /disk full/,
  );
  assert.deepEqual(readdirSync(dir), ['b.txt']);
  assert.deepEqual(readdirSync(join(root, 'nested')), ['model'], 'no temporary directory is left');
  assert.ok(!existsSync(join(root, 'nested', 'c.txt')));
});
