import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDockerfile, stages } from './dockerfile';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'fedxray-release-'));
let release = '';
/** A PATH with nothing but Node on it (and /usr/bin:/bin for the launcher's sh, dirname and readlink). */
const nodeOnly = join(work, 'node-only');
const env = () => ({ PATH: `${nodeOnly}:/usr/bin:/bin`, HOME: work, LANG: 'C.UTF-8' });

before(() => {
  // Hard links instead of copies keep this quick; the folder is otherwise the one shipped.
  const r = spawnSync(process.execPath, [join(ROOT, 'tools', 'scripts', 'release.mjs'), '--out', join(work, 'out'), '--link'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  release = r.stdout.trim();
  mkdirSync(nodeOnly);
  symlinkSync(process.execPath, join(nodeOnly, 'node'));
});

after(() => rmSync(work, { recursive: true, force: true }));

/** Runs the release's bin/fedxray from outside the checkout, with the clean PATH. */
function fedxray(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(join(release, 'bin', 'fedxray'), args, { cwd: work, env: env(), encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('the release folder runs `fedxray --help` and loads its libraries with only node on PATH, outside the checkout', () => {
  const help = fedxray(['--help']);
  assert.equal(help.code, 0, help.err);
  for (const c of ['simulate', 'coordinator', 'hospital', 'evaluate', 'predict']) assert.match(help.out, new RegExp(`\\n  ${c}\\b`));
  // A command that loads tfjs, the model library and tsx's TypeScript loader from the release.
  const summary = fedxray(['model', 'summary', '--arch', 'densenet-tiny', '--classes', '2', '--json']);
  assert.equal(summary.code, 0, summary.err);
  assert.equal(JSON.parse(summary.out).arch, 'densenet-tiny');
  assert.ok(fedxray(['hospital', '--help']).out.includes('--give-up-after'));
});

test('nothing in the release points outside it: no symlink leads back into the checkout', () => {
  const outside: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const st = lstatSync(p);
      if (st.isSymbolicLink()) {
        const target = existsSync(p) ? realpathSync(p) : '(dangling)';
        if (!target.startsWith(realpathSync(release) + sep)) outside.push(`${relative(release, p)} → ${target}`);
      } else if (st.isDirectory()) walk(p);
    }
  };
  walk(release);
  assert.deepEqual(outside, []);
  const manifest = JSON.parse(readFileSync(join(release, 'RELEASE.json'), 'utf8'));
  assert.equal(manifest.version, JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  assert.equal(manifest.nodeModulesAbi, process.versions.modules);
  for (const dev of ['nx', 'vite', 'eslint', 'typescript', 'playwright-core']) assert.ok(!manifest.packages.includes(dev), `${dev} is a development tool, not shipped`);
  for (const prod of ['tsx', 'commander', 'sharp', 'better-sqlite3', '@tensorflow/tfjs', 'socket.io-client']) assert.ok(manifest.packages.includes(prod), `${prod} is shipped`);
  assert.equal(readdirSync(join(release, 'app', 'libs', 'hospital', 'src')).filter((f) => f.endsWith('.test.ts')).length, 0, 'no tests shipped');
});

test('a coordinator started from the release serves the built dashboard', { timeout: 120_000 }, async () => {
  const child = spawn(join(release, 'bin', 'fedxray'), ['coordinator', '--data-dir', join(work, 'coordinator'), '--port', '0', '--classes', 'a,b', '--arch', 'densenet-tiny', '--image-size', '16', '--min-hospitals', '1'], { cwd: work, env: env() });
  try {
    let output = '';
    const url = await new Promise<string>((resolve, reject) => {
      const onData = (d: Buffer) => {
        output += d;
        const m = /listening on (https?:\/\/\S+)/.exec(output);
        if (m) resolve(m[1]);
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('exit', (code) => reject(new Error(`the coordinator exited (${code}) before listening:\n${output}`)));
    });
    const page = await (await fetch(`${url}/`)).text();
    assert.match(page, /<title>fedxray dashboard<\/title>/);
  } finally {
    child.kill('SIGKILL');
  }
});

test('what the Dockerfiles and systemd units run exists in the release: the folder the build stage makes, and bin/fedxray', () => {
  for (const file of readdirSync(join(ROOT, 'deploy')).filter((f) => f.endsWith('Dockerfile'))) {
    const all = stages(parseDockerfile(readFileSync(join(ROOT, 'deploy', file), 'utf8')));
    const final = all[all.length - 1];
    const copy = final.instructions.find((i) => i.keyword === 'COPY' && i.args.startsWith('/release/'));
    assert.ok(copy, `${file}: the final stage copies the release folder`);
    const [from, to] = copy.args.split(' ');
    const builder = all.find((s) => s.name === copy.flags.from)!;
    const run = builder.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args).join(' && ');
    assert.match(run, /node tools\/scripts\/release\.mjs --out \/release\b/, `${file}: the ${copy.flags.from} stage builds the release into /release`);
    assert.ok(run.includes(`mv /release/fedxray-* ${from}`), `${file}: and names it ${from}`);
    const entry = final.instructions.find((i) => i.keyword === 'ENTRYPOINT')!.exec!;
    assert.ok(entry[0].startsWith(`${to}/`), `${file}: its entry point ${entry[0]} lies in ${to}`);
    assert.ok(existsSync(join(release, relative(to, entry[0]))), `${file}: ${entry[0]} is ${relative(to, entry[0])} in the release`);
  }
  for (const unit of readdirSync(join(release, 'deploy')).filter((f) => f.endsWith('.service'))) {
    const exec = /^ExecStart=(\S+)/m.exec(readFileSync(join(release, 'deploy', unit), 'utf8'))![1];
    assert.ok(exec.startsWith('/opt/fedxray/') && existsSync(join(release, relative('/opt/fedxray', exec))), `${unit}: ${exec} is in the release installed at /opt/fedxray`);
  }
});
