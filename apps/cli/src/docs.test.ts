import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildProgram } from './main';
import { checkCommand, extractCommands } from './doc-check';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function docs(): string[] {
  return [join(ROOT, 'README.md'), ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => join(ROOT, 'docs', f))];
}

test('every fedxray command in README.md and docs/*.md names a real subcommand and only flags that command defines', () => {
  const program = buildProgram();
  const problems: string[] = [];
  let checked = 0;
  for (const file of docs()) {
    for (const c of extractCommands(readFileSync(file, 'utf8'), relative(ROOT, file))) {
      checked++;
      for (const p of checkCommand(program, c.text)) problems.push(`${c.file}:${c.line}: ${p}\n    ${c.text}`);
    }
  }
  assert.ok(checked > 50, `only ${checked} commands found in the docs`);
  assert.deepEqual(problems, []);
});

test('the doc check finds commands in code blocks and inline code, and catches unknown subcommands and flags', () => {
  const markdown = [
    'Run `npx fedxray simulate --demo --rounds 2` or:',
    '```sh',
    'FEDXRAY_TOKEN=fx_… npx fedxray hospital --coordinator https://c:8443 \\',
    '  --data /x --bogus   # a comment --ignored',
    'fedxray coordinator --data-dir d --rounds 3 && fedxray coordinator add-hospital h --data-dir d',
    'fedxray data inspect <dir> [--json]',
    'fedxray nonsense --demo',
    'fedxray model import-keras w.h5 --arch densenet121 [--out dir] --nope',
    '```',
    'Prose about fedxray.json and `fedxray.json` is not a command.',
  ].join('\n');
  const found = extractCommands(markdown, 'x.md');
  assert.deepEqual(
    found.map((c) => c.line),
    [1, 3, 5, 5, 6, 7, 8],
  );
  const program = buildProgram();
  const problems = found.map((c) => checkCommand(program, c.text));
  assert.deepEqual(problems[0], []);
  assert.equal(problems[1].length, 1);
  assert.match(problems[1][0], /^`fedxray hospital` has no option --bogus \(it has --coordinator, --token/);
  assert.deepEqual([problems[2], problems[3], problems[4]], [[], [], []], 'the default subcommand (coordinator start) takes the flags');
  assert.match(problems[5][0], /^`fedxray` has no subcommand nonsense \(it has simulate, coordinator, hospital/);
  assert.deepEqual(problems[6].length, 1);
  assert.match(problems[6][0], /`fedxray model import-keras` has no option --nope/);
});
