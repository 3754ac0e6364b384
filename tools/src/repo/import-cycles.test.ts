// No library imports itself in a circle: each lib's relative imports (types
// included) form a graph without cycles. A cycle is named file by file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findCycles, importGraph, relativeImports } from './import-cycles';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

test('the cycle finder finds and names circles, and only circles', () => {
  const graph = new Map([
    ['a.ts', ['b.ts']],
    ['b.ts', ['c.ts', 'd.ts']],
    ['c.ts', ['a.ts']],
    ['d.ts', []],
    ['e.ts', ['e.ts']],
    ['f.ts', ['d.ts']],
  ]);
  assert.deepEqual(findCycles(graph), [['a.ts', 'b.ts', 'c.ts'], ['e.ts']]);
  assert.deepEqual(findCycles(new Map([['x.ts', ['y.ts']], ['y.ts', []]])), []);
  assert.deepEqual(
    relativeImports(`import { a } from './a';\nimport type { B } from "../b";\n// import { c } from './c';\nexport { d } from './d/index';\nconst e = await import('./e');\nimport { z } from 'zod';`),
    ['./a', '../b', './d/index', './e'],
  );
});

test('no library has an import circle', () => {
  const libs = readdirSync(join(ROOT, 'libs')).filter((l) => existsSync(join(ROOT, 'libs', l, 'src')));
  assert.ok(libs.includes('coordinator') && libs.includes('runtime'), libs.join(', '));
  const circles = libs.flatMap((lib) => findCycles(importGraph(join(ROOT, 'libs', lib, 'src'))).map((c) => `libs/${lib}/src: ${[...c, c[0]].join(' → ')}`));
  assert.deepEqual(circles, []);
});
