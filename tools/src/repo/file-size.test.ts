// The coordinator stays readable: no source file in libs/coordinator/src is over 400 lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const LIMIT = 400;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [p] : [];
  });
}

test(`no source file of the coordinator is over ${LIMIT} lines`, () => {
  const files = sources(join(ROOT, 'libs', 'coordinator', 'src'));
  assert.ok(files.some((f) => f.endsWith('round-engine.ts')), 'the coordinator sources are found');
  const long = files
    .map((f) => ({ f: f.slice(ROOT.length), lines: readFileSync(f, 'utf8').split('\n').length }))
    .filter((x) => x.lines > LIMIT)
    .map((x) => `${x.f}: ${x.lines} lines`);
  assert.deepEqual(long, []);
});
