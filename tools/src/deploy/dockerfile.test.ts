import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lintDockerfile, parseDockerfile, stages, unpinned } from './dockerfile';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DEPLOY = join(ROOT, 'deploy');
const inRepo = (p: string) => existsSync(join(ROOT, p));

test('every deploy Dockerfile lints clean: pinned bases, a non-root user, exec-form entry points, sources that exist', () => {
  const files = readdirSync(DEPLOY).filter((f) => f.endsWith('Dockerfile'));
  assert.deepEqual(files.sort(), ['coordinator.Dockerfile', 'hospital-gpu.Dockerfile', 'hospital.Dockerfile']);
  for (const f of files) assert.deepEqual(lintDockerfile(readFileSync(join(DEPLOY, f), 'utf8'), inRepo), [], f);
});

test('the GPU image is built on CUDA 11.2 with cuDNN 8, as tfjs-node-gpu 4.22 requires, and fails its build without the GPU binding', () => {
  const text = readFileSync(join(DEPLOY, 'hospital-gpu.Dockerfile'), 'utf8');
  const s = stages(parseDockerfile(text));
  const tfjs = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).optionalDependencies['@tensorflow/tfjs-node-gpu'];
  assert.equal(tfjs, '4.22.0', 'docs/INSTALL.md and this image name the CUDA and cuDNN of tfjs-node-gpu 4.22; check them when it changes');
  assert.match(s[s.length - 1].image, /^nvidia\/cuda:11\.2\.\d+-cudnn8-runtime-/);
  assert.ok(s.some((st) => st.instructions.some((i) => i.keyword === 'RUN' && /tfjs-node-gpu\/lib\/napi-v\*\/tfjs_binding\.node/.test(i.args))));
});

test('the linter catches what it is for', () => {
  const bad = [
    'RUN echo too early',
    'FROM node',
    'FROM ubuntu:latest AS x',
    'FROM node:20-slim',
    'COPY missing.txt /x',
    'COPY --from=elsewhere:1 /a /b',
    'RUN node tools/scripts/nope.mjs',
    'FROBNICATE',
    'ENTRYPOINT fedxray hospital',
  ].join('\n');
  const problems = lintDockerfile(bad, inRepo).map((p) => `${p.line}: ${p.message}`);
  assert.deepEqual(problems, [
    '8: unknown instruction FROBNICATE',
    '1: the first instruction (after ARGs) must be FROM',
    '2: node has no tag (it means :latest, which changes under you)',
    '3: ubuntu:latest uses :latest',
    "4: node:20-slim's tag 20-slim names no exact version (major.minor.patch)",
    '5: COPY source missing.txt is not in the build context',
    "6: COPY --from=elsewhere:1: not an earlier stage, and elsewhere:1's tag 1 names no exact version (major.minor.patch)",
    '7: RUN runs tools/scripts/nope.mjs, which is not in the repository',
    '9: ENTRYPOINT in shell form: use the exec form ["…", "…"] so signals reach fedxray',
    '4: the final stage never leaves root: add USER <a non-root user>',
  ]);
  const root = lintDockerfile('FROM node:20.1.2\nUSER root\nCMD ["x"]', inRepo).map((p) => p.message);
  assert.ok(root.includes('the final stage runs as root'));
  const late = lintDockerfile('FROM node:20.1.2\nRUN useradd app\nCMD ["x"]\nUSER app', inRepo).map((p) => p.message);
  assert.deepEqual(late, ['USER comes after ENTRYPOINT/CMD']);
  assert.equal(unpinned('node@sha256:0123'), null);
  const parsed = parseDockerfile('# c\nRUN a \\\n # inner comment\n  && b\nCOPY --from=build --chown=1:1 /x /y');
  assert.deepEqual(
    parsed.map((i) => [i.line, i.keyword, i.args, i.flags]),
    [
      [2, 'RUN', 'a && b', {}],
      [5, 'COPY', '/x /y', { from: 'build', chown: '1:1' }],
    ],
  );
});
