import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildProgram } from './main';
import { IMAGE_ENTRYPOINTS, checkCommand, deployCommands, extractCommands, shellCommands } from './doc-check';

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

test('every fedxray command the deploy files run (Dockerfile entry points, systemd ExecStart, their examples) is one the CLI accepts', () => {
  const program = buildProgram();
  const problems: string[] = [];
  const entrypoints: Record<string, string> = {};
  for (const name of readdirSync(join(ROOT, 'deploy'))) {
    const text = readFileSync(join(ROOT, 'deploy', name), 'utf8');
    const found = deployCommands(text, `deploy/${name}`);
    assert.ok(found.length > 0, `no fedxray command found in deploy/${name}`);
    for (const c of found) for (const p of checkCommand(program, c.text)) problems.push(`${c.file}:${c.line}: ${p}\n    ${c.text}`);
    const entry = /^ENTRYPOINT\s+(\[.*\])/m.exec(text);
    if (entry) entrypoints[name.replace(/\.Dockerfile$/, '')] = ['fedxray', ...JSON.parse(entry[1]).slice(1)].join(' ');
  }
  assert.deepEqual(problems, []);
  // `docker run fedxray-<image>:<tag> <args>` in the docs is read with the entry point the image really has.
  assert.deepEqual(
    Object.fromEntries(Object.entries(entrypoints).map(([k, v]) => [`fedxray-${k}`, v])),
    IMAGE_ENTRYPOINTS,
  );
});

test('a shell line gives its fedxray commands: after sudo, a path or npx; docker run of a fedxray image as its entry point', () => {
  assert.deepEqual(shellCommands('sudo -u fedxray /opt/fedxray/bin/fedxray coordinator list-hospitals --json  # who'), ['fedxray coordinator list-hospitals --json']);
  assert.deepEqual(shellCommands('docker run --rm -v fedxray-data:/var/lib/fedxray fedxray-coordinator:0.1.0 add-hospital h --data-dir /d'), ['fedxray coordinator add-hospital h --data-dir /d']);
  assert.deepEqual(shellCommands('docker run --gpus all -e FEDXRAY_TOKEN fedxray-hospital-gpu:0.1.0 --data /data'), ['fedxray hospital --backend gpu --data /data']);
  assert.deepEqual(shellCommands('docker build -f deploy/hospital.Dockerfile -t fedxray-hospital:0.1.0 .'), []);
  assert.deepEqual(shellCommands('cd /opt && ./fedxray-ish --help; echo fedxray'), []);
});
