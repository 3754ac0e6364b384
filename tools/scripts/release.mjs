#!/usr/bin/env node
// Builds a release folder of fedxray that runs on a machine with no registry
// access: the CLI and libraries (TypeScript, run by tsx as in the checkout),
// the built dashboard, and the production node_modules of this checkout
// (native modules included, so build it on the same OS, CPU architecture and
// Node major version as the machines it is for). See docs/INSTALL.md.
//
//   node tools/scripts/release.mjs [--out dist/release] [--with-node] [--tar] [--link] [--exclude <package>]…
//
//   --out <dir>        where fedxray-<version>/ is written (default dist/release); an old copy is replaced
//   --with-node        also copy this Node binary into node/bin/node (bin/fedxray prefers it)
//   --tar              also write fedxray-<version>-<platform>-<arch>.tar.gz beside the folder
//   --link             hard-link files instead of copying them (same file system only; for tests)
//   --exclude <pkg>    leave out an installed package (not its own dependencies), e.g. @tensorflow/tfjs-node-gpu
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function parseArgs(argv) {
  const o = { out: join(ROOT, 'dist', 'release'), withNode: false, tar: false, link: false, exclude: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') o.out = argv[++i];
    else if (a === '--with-node') o.withNode = true;
    else if (a === '--tar') o.tar = true;
    else if (a === '--link') o.link = true;
    else if (a === '--exclude') o.exclude.push(argv[++i]);
    else {
      console.error(`release: unknown argument ${a}; expected --out <dir>, --with-node, --tar, --link or --exclude <package>`);
      process.exit(2);
    }
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const rootPkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const version = rootPkg.version;
const dest = join(opts.out, `fedxray-${version}`);
const app = join(dest, 'app');

/** Copies (or hard-links) a file or a tree; symlinks are recreated as they are. `keep(path)` filters. */
function copy(from, to, keep = () => true) {
  const st = lstatSync(from);
  if (!keep(from, st)) return;
  if (st.isSymbolicLink()) {
    mkdirSync(dirname(to), { recursive: true });
    symlinkSync(readlinkSync(from), to);
  } else if (st.isDirectory()) {
    mkdirSync(to, { recursive: true });
    for (const name of readdirSync(from)) copy(join(from, name), join(to, name), keep);
  } else {
    mkdirSync(dirname(to), { recursive: true });
    if (opts.link) {
      try {
        linkSync(from, to);
      } catch (err) {
        if (err.code !== 'EXDEV') throw err;
        copyFileSync(from, to);
      }
    } else copyFileSync(from, to);
    chmodSync(to, st.mode & 0o777);
  }
}

/** Source files a running fedxray needs: no tests, no test fixtures. */
const sourceOnly = (p, st) => !(st.isFile() && /\.test\.ts$/.test(p)) && !(st.isDirectory() && /[\\/]fixtures$/.test(p));

function step(text) {
  process.stderr.write(`release: ${text}\n`);
}

// 1. The dashboard, built if its sources are newer than the build.
const dashboard = join(ROOT, 'apps', 'dashboard');
const built = join(dashboard, 'dist', 'index.html');
const newest = (dir) => readdirSync(dir, { recursive: true }).reduce((m, f) => Math.max(m, statSync(join(dir, f)).mtimeMs), 0);
const stale = !existsSync(built) || Math.max(newest(join(dashboard, 'src')), statSync(join(dashboard, 'index.html')).mtimeMs) > statSync(built).mtimeMs;
if (stale) {
  step('building the dashboard (vite build)');
  const vite = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  const r = spawnSync(process.execPath, [vite, 'build'], { cwd: dashboard, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('release: the dashboard did not build; run npm run build:dashboard to see why');
    process.exit(1);
  }
}

// 2. The production dependency tree, as npm sees it installed here (no registry access).
step('listing production dependencies (npm ls --omit=dev)');
const npm = spawnSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
if (!npm.stdout) {
  console.error(`release: npm ls failed: ${npm.stderr}`);
  process.exit(1);
}
const nodeModules = join(ROOT, 'node_modules');
const excluded = opts.exclude.map((p) => join(nodeModules, p));
const packages = npm.stdout
  .split('\n')
  .filter((p) => p.startsWith(nodeModules + sep))
  // nested node_modules come with their parent; workspaces are copied from their own folders
  .filter((p) => !relative(nodeModules, p).includes(`node_modules`) && !relative(nodeModules, p).startsWith('@fedxray'))
  .filter((p) => !excluded.some((e) => p === e || p.startsWith(e + sep)));

// 3. The folder.
rmSync(dest, { recursive: true, force: true });
mkdirSync(app, { recursive: true });
step(`writing ${relative(process.cwd(), dest) || dest}`);
const { workspaces: _ws, devDependencies: _dev, scripts: _scripts, ...pkg } = rootPkg;
writeFileSync(join(app, 'package.json'), `${JSON.stringify({ ...pkg, private: true }, null, 2)}\n`);
const workspaces = [
  ...readdirSync(join(ROOT, 'libs')).map((n) => `libs/${n}`),
  'apps/cli',
  'tools',
];
for (const ws of workspaces) {
  copy(join(ROOT, ws, 'package.json'), join(app, ws, 'package.json'));
  copy(join(ROOT, ws, 'src'), join(app, ws, 'src'), sourceOnly);
}
copy(join(ROOT, 'apps', 'cli', 'bin'), join(app, 'apps', 'cli', 'bin'));
copy(join(dashboard, 'package.json'), join(app, 'apps', 'dashboard', 'package.json'));
copy(join(dashboard, 'dist'), join(app, 'apps', 'dashboard', 'dist'));
for (const p of packages) copy(p, join(app, 'node_modules', relative(nodeModules, p)));
// Workspace packages resolve through node_modules/@fedxray/<name>, as npm links them.
for (const ws of [...workspaces, 'apps/dashboard']) {
  const name = JSON.parse(readFileSync(join(ROOT, ws, 'package.json'), 'utf8')).name;
  const link = join(app, 'node_modules', name);
  mkdirSync(dirname(link), { recursive: true });
  symlinkSync(relative(dirname(link), join(app, ws)), link);
}
copy(join(ROOT, 'docs'), join(dest, 'docs'), (p, st) => st.isDirectory() || p.endsWith('.md') || p.endsWith('.png'));
copy(join(ROOT, 'deploy'), join(dest, 'deploy'), (p) => !p.endsWith('Dockerfile'));

// 4. The launcher, and Node itself when asked.
mkdirSync(join(dest, 'bin'), { recursive: true });
writeFileSync(
  join(dest, 'bin', 'fedxray'),
  [
    '#!/bin/sh',
    '# fedxray from a release folder: the Node beside it (node/bin/node) if there is one, else node on PATH.',
    'here=$(dirname "$(readlink -f "$0")")/..',
    'node="$here/node/bin/node"',
    '[ -x "$node" ] || node=node',
    'exec "$node" "$here/app/apps/cli/bin/fedxray.js" "$@"',
    '',
  ].join('\n'),
  { mode: 0o755 },
);
if (opts.withNode) copy(process.execPath, join(dest, 'node', 'bin', 'node'));
const commit = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout?.trim() || null;
writeFileSync(
  join(dest, 'RELEASE.json'),
  `${JSON.stringify(
    {
      name: 'fedxray',
      version,
      commit,
      builtAt: new Date().toISOString(),
      platform: process.platform,
      arch: process.arch,
      node: process.version,
      nodeModulesAbi: process.versions.modules,
      bundledNode: opts.withNode,
      packages: packages.map((p) => relative(nodeModules, p)).sort(),
    },
    null,
    2,
  )}\n`,
);

if (opts.tar) {
  const file = `fedxray-${version}-${process.platform}-${process.arch}.tar.gz`;
  step(`packing ${file}`);
  const r = spawnSync('tar', ['-czf', file, `fedxray-${version}`], { cwd: opts.out, stdio: 'inherit' });
  if (r.status !== 0) process.exit(1);
}
process.stdout.write(`${dest}\n`);
