import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { DemoDataError } from './errors';
import { MARKER_FILE, ensureDemoData, generateDemoData, imageName, imageSeed } from './generate';
import { renderXray } from './render';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'fedxray-xray-'));
}

const SMALL = { covid19: 3, normal: 4, pneumonia: 2, tuberculosis: 3 };

test('renderXray is a pure function of (class, seed, size)', () => {
  const a = renderXray('pneumonia', 42, 64);
  const b = renderXray('pneumonia', 42, 64);
  assert.equal(a.length, 64 * 64);
  assert.deepEqual(a, b);
  assert.notDeepEqual(renderXray('pneumonia', 43, 64), a);
  assert.notDeepEqual(renderXray('normal', 42, 64), a);
});

test('renderXray refuses unknown classes and bad sizes', () => {
  assert.throws(() => renderXray('flu', 1, 64), (e: unknown) => e instanceof DemoDataError && /covid19, normal, pneumonia, tuberculosis/.test(e.message));
  assert.throws(() => renderXray('normal', 1, 8), /size/);
  assert.throws(() => renderXray('normal', 1, 64.5), /size/);
});

test('images show a chest: dark lungs either side of a bright mediastinum, air outside the body', () => {
  let lungs = 0;
  let mediastinum = 0;
  let corner = 0;
  const n = 64;
  const mean = (img: Uint8Array, r0: number, r1: number, c0: number, c1: number) => {
    let s = 0;
    for (let r = Math.round(r0 * n); r < Math.round(r1 * n); r++) for (let c = Math.round(c0 * n); c < Math.round(c1 * n); c++) s += img[r * n + c];
    return s / ((Math.round(r1 * n) - Math.round(r0 * n)) * (Math.round(c1 * n) - Math.round(c0 * n)));
  };
  for (let s = 0; s < 20; s++) {
    const img = renderXray('normal', s, n);
    lungs += (mean(img, 0.35, 0.55, 0.2, 0.35) + mean(img, 0.35, 0.55, 0.65, 0.8)) / 2 / 20;
    mediastinum += mean(img, 0.35, 0.55, 0.46, 0.54) / 20;
    corner += mean(img, 0.0, 0.08, 0.0, 0.05) / 20;
  }
  assert.ok(mediastinum > lungs + 60, `mediastinum ${mediastinum} vs lungs ${lungs}`);
  assert.ok(lungs > corner, `lungs ${lungs} vs air outside ${corner}`);
});

test('each class changes the lungs where its radiology says', () => {
  // The anatomy stream does not depend on the class, so image(class, s) − image(normal, s) is the finding alone.
  const n = 64;
  const zone = (r0: number, r1: number, c0: number, c1: number) => ({ r0: Math.round(r0 * n), r1: Math.round(r1 * n), c0: Math.round(c0 * n), c1: Math.round(c1 * n) });
  const zones = {
    upperLeft: zone(0.22, 0.42, 0.12, 0.42),
    upperRight: zone(0.22, 0.42, 0.58, 0.88),
    lowerLeft: zone(0.5, 0.75, 0.08, 0.4),
    lowerRight: zone(0.5, 0.75, 0.6, 0.92),
  };
  type Z = keyof typeof zones;
  const excess = (cls: string, s: number): Record<Z | 'peak', number> => {
    const a = renderXray(cls, s, n);
    const b = renderXray('normal', s, n);
    const out = {} as Record<Z | 'peak', number>;
    // Peak: the largest 3×3 mean difference anywhere, how dense the densest spot is.
    out.peak = 0;
    for (let r = 1; r < n - 1; r++) {
      for (let c = 1; c < n - 1; c++) {
        let d = 0;
        for (let i = -1; i <= 1; i++) for (let j = -1; j <= 1; j++) d += a[(r + i) * n + c + j] - b[(r + i) * n + c + j];
        out.peak = Math.max(out.peak, d / 9);
      }
    }
    for (const [k, z] of Object.entries(zones) as Array<[Z, (typeof zones)[Z]]>) {
      let sum = 0;
      for (let r = z.r0; r < z.r1; r++) for (let c = z.c0; c < z.c1; c++) sum += a[r * n + c] - b[r * n + c];
      out[k] = sum / ((z.r1 - z.r0) * (z.c1 - z.c0));
    }
    return out;
  };
  const stats = (cls: string) => {
    let upper = 0;
    let lower = 0;
    let bilateralLower = 0;
    let peak = 0;
    const N = 40;
    for (let s = 0; s < N; s++) {
      const e = excess(cls, 1000 + s);
      peak += e.peak / N;
      upper += (e.upperLeft + e.upperRight) / 2 / N;
      lower += (e.lowerLeft + e.lowerRight) / 2 / N;
      if (e.lowerLeft > 1 && e.lowerRight > 1) bilateralLower += 1 / N;
    }
    return { upper, lower, bilateralLower, peak };
  };
  const pneumonia = stats('pneumonia');
  const covid = stats('covid19');
  const tb = stats('tuberculosis');
  // Every finding brightens (opacifies) the lungs.
  for (const [name, s] of Object.entries({ pneumonia, covid, tb })) assert.ok(s.upper + s.lower > 1, `${name}: ${JSON.stringify(s)}`);
  assert.ok(pneumonia.lower > pneumonia.upper, `pneumonia is mostly lower-zone: ${JSON.stringify(pneumonia)}`);
  assert.ok(covid.lower > covid.upper, `covid19 is mostly lower-zone: ${JSON.stringify(covid)}`);
  assert.ok(tb.upper > tb.lower, `tuberculosis is upper-zone: ${JSON.stringify(tb)}`);
  assert.ok(covid.bilateralLower > pneumonia.bilateralLower, `covid19 is bilateral more often than pneumonia: ${covid.bilateralLower} vs ${pneumonia.bilateralLower}`);
  assert.ok(pneumonia.peak > covid.peak, `consolidation is denser than ground glass: ${pneumonia.peak} vs ${covid.peak}`);
});

test('generateDemoData writes one folder per class with the asked counts, PNGs that decode to the rendered pixels', async () => {
  const dir = await tempDir();
  try {
    const out = join(dir, 'demo');
    const seen: number[] = [];
    const r = await generateDemoData({ out, perClass: SMALL, size: 48, seed: 5 }, (done, total) => {
      assert.equal(total, 12);
      seen.push(done);
    });
    assert.deepEqual(r.classes, ['covid19', 'normal', 'pneumonia', 'tuberculosis']);
    assert.deepEqual(r.counts, SMALL);
    assert.equal(r.reused, false);
    assert.deepEqual(seen, Array.from({ length: 12 }, (_, i) => i + 1));
    assert.deepEqual((await readdir(out)).sort(), [MARKER_FILE, 'covid19', 'normal', 'pneumonia', 'tuberculosis']);
    for (const [cls, count] of Object.entries(SMALL)) {
      const files = (await readdir(join(out, cls))).sort();
      assert.deepEqual(files, Array.from({ length: count }, (_, i) => imageName(cls, i)));
    }
    const file = join(out, 'tuberculosis', imageName('tuberculosis', 2));
    const meta = await sharp(file).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height, meta.channels], ['png', 48, 48, 1]);
    const { data, info } = await sharp(file).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    assert.equal(info.channels, 1);
    assert.deepEqual(new Uint8Array(data), renderXray('tuberculosis', imageSeed(5, 'tuberculosis', 2), 48));
    assert.deepEqual((await readdir(dir)).sort(), ['demo'], 'no temporary folder is left next to the set');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the same seed gives byte-identical files; another seed does not', async () => {
  const dir = await tempDir();
  try {
    const opts = { perClass: { normal: 2, covid19: 2 }, size: 40 };
    await generateDemoData({ ...opts, out: join(dir, 'a'), seed: 9 });
    await generateDemoData({ ...opts, out: join(dir, 'b'), seed: 9 });
    await generateDemoData({ ...opts, out: join(dir, 'c'), seed: 10 });
    for (const cls of ['normal', 'covid19']) {
      for (let i = 0; i < 2; i++) {
        const name = join(cls, imageName(cls, i));
        const a = await readFile(join(dir, 'a', name));
        assert.ok(a.equals(await readFile(join(dir, 'b', name))), `${name} differs between two runs with one seed`);
        assert.ok(!a.equals(await readFile(join(dir, 'c', name))), `${name} is the same for two seeds`);
      }
    }
    assert.ok((await readFile(join(dir, 'a', MARKER_FILE))).equals(await readFile(join(dir, 'b', MARKER_FILE))));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('ensureDemoData generates once, reuses while options and generator version match, regenerates otherwise', async () => {
  const dir = await tempDir();
  try {
    const first = await ensureDemoData(dir, { perClass: SMALL, size: 32, seed: 3 });
    assert.equal(first.reused, false);
    assert.equal(first.out, join(dir, 'xray-demo'));
    const probe = join(first.out, 'normal', imageName('normal', 0));
    const before = (await stat(probe)).mtimeMs;
    const again = await ensureDemoData(dir, { perClass: { tuberculosis: 3, pneumonia: 2, normal: 4, covid19: 3 }, size: 32, seed: 3 });
    assert.equal(again.reused, true, 'same options in another key order are the same set');
    assert.equal((await stat(probe)).mtimeMs, before);

    const reseeded = await ensureDemoData(dir, { perClass: SMALL, size: 32, seed: 4 });
    assert.equal(reseeded.reused, false);
    assert.equal(JSON.parse(await readFile(join(first.out, MARKER_FILE), 'utf8')).options.seed, 4);

    const marker = JSON.parse(await readFile(join(first.out, MARKER_FILE), 'utf8'));
    await writeFile(join(first.out, MARKER_FILE), JSON.stringify({ ...marker, version: marker.version - 1 }));
    const upgraded = await ensureDemoData(dir, { perClass: SMALL, size: 32, seed: 4 });
    assert.equal(upgraded.reused, false, 'a set from another generator version is regenerated');
    assert.deepEqual((await readdir(dir)).sort(), ['xray-demo']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('generation refuses bad options and never replaces a folder that is not a demo set', async () => {
  const dir = await tempDir();
  try {
    await assert.rejects(generateDemoData({ out: join(dir, 'x'), perClass: { flu: 3 } }), /flu/);
    await assert.rejects(generateDemoData({ out: join(dir, 'x'), perClass: { normal: -1 } }), /perClass.normal/);
    await assert.rejects(generateDemoData({ out: join(dir, 'x'), size: 5000 }), /size/);
    const mine = join(dir, 'mine');
    await mkdir(mine);
    await writeFile(join(mine, 'notes.txt'), 'keep me');
    await assert.rejects(generateDemoData({ out: mine, perClass: { normal: 1 }, size: 32 }), DemoDataError);
    assert.equal(await readFile(join(mine, 'notes.txt'), 'utf8'), 'keep me');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an aborted generation publishes nothing and leaves no temporary folder', async () => {
  const dir = await tempDir();
  try {
    const out = join(dir, 'demo');
    const ac = new AbortController();
    await assert.rejects(
      generateDemoData({ out, perClass: { normal: 50 }, size: 32, signal: ac.signal, concurrency: 2 }, (done) => {
        if (done === 5) ac.abort();
      }),
      { name: 'AbortError' },
    );
    assert.deepEqual(await readdir(dir), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a killed generation leaves no data set, and the next run cleans up after it', async () => {
  const dir = await tempDir();
  try {
    const out = join(dir, 'demo');
    const script = join(dir, 'child.mts');
    const generate = fileURLToPath(new URL('./generate.ts', import.meta.url));
    await writeFile(
      script,
      `import { generateDemoData } from ${JSON.stringify(generate)};
await generateDemoData({ out: ${JSON.stringify(out)}, perClass: { normal: 200 }, size: 32 }, (done) => {
  if (done === 10) {
    process.stdout.write('halfway\\n');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000);
  }
});
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolveHalfway, reject) => {
      child.stdout.on('data', (b: Buffer) => {
        if (b.toString().includes('halfway')) resolveHalfway();
      });
      child.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const left = (await readdir(dir)).filter((f) => f !== 'child.mts');
    assert.ok(!left.includes('demo'), 'no data set is published');
    assert.equal(left.length, 1, `the killed run's temporary folder is there: ${left}`);
    assert.match(left[0], /^\.demo\.tmp-/);

    const r = await ensureDemoData(dir, { out, perClass: { normal: 3 }, size: 32 });
    assert.equal(r.reused, false);
    assert.deepEqual((await readdir(dir)).sort(), ['child.mts', 'demo']);
    assert.equal((await readdir(join(out, 'normal'))).length, 3);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
