import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { imageFolders, runFedxray, savedModel, tempDir } from './testing';

test('evaluate refuses class folders the model has no class for, naming them and a near match', { timeout: 120_000 }, async () => {
  const model = await savedModel(['left', 'right', 'top']);
  const data = await imageFolders({ left: 2, right: 2, Top: 2, cats: 1 });
  const r = await runFedxray(['evaluate', '--model', model, '--data', data, '--split', 'all', '--backend', 'cpu', '--out', tempDir()]);
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /The class folders of .* do not match the model's classes \(left, right, top\): Top, cats are not among them\. Rename Top → top \(folders are matched by exact name\)/);
  assert.doesNotMatch(r.out, /accuracy/);
});

test('evaluate matches a subset of the model’s classes by name, in the model’s order, and says which class has no folder', { timeout: 120_000 }, async () => {
  // The model's order (right, left, top) differs from the folders' sorted order (left, right), and the counts differ, so a mix-up shows.
  const model = await savedModel(['right', 'left', 'top']);
  const data = await imageFolders({ left: 5, right: 3 });
  const out = tempDir();
  const r = await runFedxray(['evaluate', '--model', model, '--data', data, '--split', 'all', '--backend', 'cpu', '--out', out]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /Class folders matched to the model's classes by name: right, left; no folder for top \(no images of that class: its recall and AUC are undefined\)/);
  const support = Object.fromEntries(
    r.out
      .split('\n')
      .map((l) => /^(right|left|top)\s.*\s(\d+)$/.exec(l))
      .filter((m) => m !== null)
      .map((m) => [m![1], Number(m![2])]),
  );
  assert.deepEqual(support, { right: 3, left: 5, top: 0 });
  assert.match(r.out, new RegExp(`Report .*: ${join(out).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
});
