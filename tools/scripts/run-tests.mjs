#!/usr/bin/env node
// Runs one project's tests with Node's test runner: every `*.test.ts` under
// <projectRoot>/src, TypeScript loaded by tsx. Usage: run-tests.mjs <projectRoot> [filter]
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const [root, filter] = process.argv.slice(2);
if (!root) {
  console.error('usage: run-tests.mjs <projectRoot> [substring of a test file path]');
  process.exit(2);
}

function find(dir) {
  let out = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(find(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const files = find(join(root, 'src'))
  .filter((f) => !filter || f.includes(filter))
  .sort();
if (files.length === 0) {
  console.error(`run-tests: no *.test.ts files under ${root}/src`);
  process.exit(1);
}
const args = ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files];
const r = spawnSync(process.execPath, args, { stdio: 'inherit', env: { ...process.env, FEDXRAY_TEST: '1' } });
process.exit(r.status ?? 1);
