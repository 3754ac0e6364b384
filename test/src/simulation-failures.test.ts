import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeBlobDataset, tempDir } from './support/images';
import { runCli } from './support/processes';

/** A hospital whose every image is a PNG signature followed by garbage: found by the scan, unreadable by the decoder. */
function unreadableHospital(classes: string[]): string {
  const dir = tempDir('fedxray-unreadable-');
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  for (const c of classes) {
    mkdirSync(join(dir, c));
    for (let i = 0; i < 10; i++) writeFileSync(join(dir, c, `${c}-${i}.png`), Buffer.concat([png, Buffer.alloc(64, i + 1)]));
  }
  return dir;
}

test('simulate prints one visible line per failed job (hospital, phase, round, error) and the peak memory', { timeout: 180_000 }, async () => {
  // Prepare: hospital-1 is healthy, hospital-2 cannot read any of its images
  const { dir: good, classes } = await makeBlobDataset({ perClass: 10, size: 16, seed: 8, classes: ['left', 'right'] });
  const bad = unreadableHospital(classes);
  // Execute
  const cli = runCli(['simulate', '--hospital-data', `${good},${bad}`, '--rounds', '1', '--arch', 'densenet-tiny', '--image-size', '16', '--backend', 'cpu', '--no-augment', '--out', tempDir()]);
  const code = await cli.exited;
  const out = cli.output();
  // Assert: the run goes on without hospital-2, and says so once per failed job
  assert.equal(code, 0, out);
  const failed = out.split('\n').filter((l) => l.includes('FAILED'));
  assert.deepEqual(
    failed.map((l) => l.trim().replace(/: [^:]*$/, '')),
    ['FAILED hospital-2: fit in round 1', 'FAILED hospital-2: calibrate in round 1'],
    out,
  );
  for (const l of failed) assert.match(l, /No training image could be read/);
  assert.match(out, /peak memory \d+ MB \(resident, this process: coordinator and hospitals\)/);
});
