import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './testing';

test('--help lists every command', async () => {
  const r = await run('--help');
  assert.equal(r.code, 0);
  for (const c of ['simulate', 'coordinator', 'hospital', 'data', 'model', 'evaluate', 'predict', 'tune', 'bench']) assert.match(r.out, new RegExp(`\\n  ${c}\\b`));
});

test('a usage mistake is one clear line and exit code 2', async () => {
  const r = await run('simulate', '--rounds', '2');
  assert.equal(r.code, 2);
  assert.match(r.err, /Give exactly one of --demo, --data <dir> or --hospital-data/);
  const bad = await run('simulate', '--demo', '--rounds', 'zero');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /Expected --rounds to be an integer ≥ 1, but got zero/);
  const noToken = await run('hospital', '--coordinator', 'http://127.0.0.1:1', '--data', '.');
  assert.equal(noToken.code, 2);
  assert.match(noToken.err, /FEDXRAY_TOKEN/);
  // commander's own checks: a value outside an option's choices, an unknown option
  const choice = await run('simulate', '--demo', '--head-calibration', 'sometimes');
  assert.equal(choice.code, 2);
  assert.match(choice.err, /argument 'sometimes' is invalid/);
  const unknown = await run('simulate', '--demo', '--roundz', '2');
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown option '--roundz'/);
  assert.equal((await run('--version')).code, 0);
});

test('coordinator add-hospital prints a token once; list and remove manage the registry', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedxray-cli-'));
  const added = await run('coordinator', 'add-hospital', 'st-marys', '--data-dir', dir);
  assert.equal(added.code, 0);
  assert.match(added.out.trim(), /^fx_[A-Za-z0-9_-]{43}$/);
  const listed = await run('coordinator', 'list-hospitals', '--data-dir', dir, '--json');
  const list = JSON.parse(listed.out);
  assert.deepEqual(
    list.map((h: any) => [h.name, h.revokedAt]),
    [['st-marys', null]],
  );
  assert.ok(!listed.out.includes(added.out.trim()), 'the token is never shown again');
  assert.equal((await run('coordinator', 'remove-hospital', 'st-marys', '--data-dir', dir)).code, 0);
  assert.notEqual(JSON.parse((await run('coordinator', 'list-hospitals', '--data-dir', dir, '--json')).out)[0].revokedAt, null);
  const badName = await run('coordinator', 'add-hospital', 'no spaces please', '--data-dir', dir);
  assert.equal(badName.code, 2);
  assert.match(badName.err, /Expected a hospital name/);
});

test('model summary prints the Keras counts for DenseNet121 with the study head', { timeout: 120_000 }, async () => {
  const r = await run('model', 'summary', '--arch', 'densenet121', '--classes', '4', '--json');
  assert.equal(r.code, 0, r.err);
  const s = JSON.parse(r.out);
  assert.equal(s.params, 7_566_404);
  assert.equal(s.backboneParams, 7_037_504);
  assert.equal(s.weightTensors, 612);
});
