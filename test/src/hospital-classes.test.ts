import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TINY_MODEL, loopbackCoordinator } from './support/coordinator';
import { makeBlobDataset } from './support/images';
import { runCli } from './support/processes';

const RUN_CLASSES = TINY_MODEL.classes;

test('real hospitals over loopback: one lacking a class (named with --classes) and a one-class one train a round; a folder of a class the run does not know is refused by name', { timeout: 240_000 }, async () => {
  // Prepare: a run of three classes; hospital "children" has no "top" images, "single" only "top", "foreign" a "bottom" folder.
  const tokens = { children: 'token-children-00000000000', single: 'token-single-0000000000000', foreign: 'token-foreign-000000000000' };
  const coordinator = await loopbackCoordinator(tokens, { minAvailable: 2, minFit: 2 });
  const common = ['--coordinator', coordinator.url, '--backend', 'cpu', '--no-augment', '--no-worker'];
  const children = await makeBlobDataset({ perClass: 16, size: 16, seed: 41, classes: ['left', 'right'] });
  const single = await makeBlobDataset({ perClass: 16, size: 16, seed: 42, classes: ['top'] });
  const foreign = await makeBlobDataset({ perClass: 4, size: 16, seed: 43, classes: ['left', 'bottom'] });
  const a = runCli(['hospital', ...common, '--data', children.dir, '--classes', RUN_CLASSES.join(',')], { FEDXRAY_TOKEN: tokens.children });
  const b = runCli(['hospital', ...common, '--data', single.dir], { FEDXRAY_TOKEN: tokens.single });
  const c = runCli(['hospital', ...common, '--data', foreign.dir], { FEDXRAY_TOKEN: tokens.foreign });
  let result;
  let pooled;
  try {
    // Execute
    const refusedCode = await c.exited;
    result = await coordinator.done;
    pooled = coordinator.state().confusion;
    assert.equal(refusedCode, 1, c.output());
    assert.equal(await a.exited, 0, a.output());
    assert.equal(await b.exited, 0, b.output());
  } finally {
    for (const p of [a, b, c]) p.child.kill('SIGKILL');
    await coordinator.close();
  }

  // Assert: both trained and were evaluated in the run's class order; the foreign class is named.
  assert.equal(result.status, 'complete', `${result.error}\n${a.output()}\n${b.output()}`);
  assert.deepEqual(result.rounds[0].fit.hospitals, ['children', 'single']);
  assert.deepEqual(pooled?.classes, RUN_CLASSES);
  const truePerClass = pooled!.matrix.map((row) => row.reduce((x, y) => x + y, 0));
  assert.ok(truePerClass.every((n) => n > 0), `every class has test images somewhere: ${truePerClass}`);
  assert.match(a.output(), /Hospital data: images of 2 classes \(left, right\), /);
  assert.match(b.output(), /Hospital data: images of 1 class \(top\), /);
  assert.match(c.output(), /This run classifies \[left, right, top\], but hospital foreign has 1 class it does not know: bottom\./);
});

test('fedxray hospital --classes refuses a folder the list does not name before connecting', { timeout: 60_000 }, async () => {
  const { dir } = await makeBlobDataset({ perClass: 2, size: 16, seed: 44, classes: ['left', 'bottom'] });
  const p = runCli(['hospital', '--coordinator', 'http://127.0.0.1:9', '--data', dir, '--backend', 'cpu', '--no-worker', '--classes', 'left,right'], { FEDXRAY_TOKEN: 'token-unlisted-00000000000' });
  try {
    assert.equal(await p.exited, 1, p.output());
    assert.match(p.output(), /has class folder bottom, which the classes given \(left, right\) do not name; add them to --classes if the run classifies them/);
    assert.doesNotMatch(p.output(), /Cannot reach/);
  } finally {
    p.child.kill('SIGKILL');
  }
});
