import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AugmentConfigSchema,
  augmentImage,
  cropScaled,
  defaultAugmentConfig,
  gridDistortion,
  homography,
  largestRotatedRect,
  mirror,
  perspective,
  randomSkew,
  rotate90,
  rotateCropped,
} from './augment';
import type { AugmentTrace } from './augment';
import type { RawImage } from './decode';
import { mulberry32 } from './rng';

const S = 48;

/** Value = (x + 2y) / (3S): every pixel distinct and smooth, so bilinear samples are predictable. */
function gradient(channels: 1 | 3 = 1): RawImage {
  const data = new Float32Array(S * S * channels);
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) for (let c = 0; c < channels; c++) data[(y * S + x) * channels + c] = (x + 2 * y) / (3 * S) + c * 0.01;
  return { width: S, height: S, channels, data };
}

function ones(): RawImage {
  return { width: S, height: S, channels: 1, data: new Float32Array(S * S).fill(1) };
}

const px = (img: RawImage, x: number, y: number) => img.data[(y * img.width + x) * img.channels];

test('the defaults are the study\'s pipeline; bad config is refused', () => {
  const d = defaultAugmentConfig();
  assert.equal(d.rotate90.probability, 0.5);
  assert.deepEqual([d.rotate.probability, d.rotate.maxLeft, d.rotate.maxRight], [0.5, 25, 10]);
  assert.deepEqual(d.order, ['skew', 'distortion', 'rotate90', 'rotate', 'crop', 'mirror']);
  assert.equal(AugmentConfigSchema.safeParse({ mirror: { probability: 2 } }).success, false);
  assert.equal(AugmentConfigSchema.safeParse({ zoom: {} }).success, false);
  assert.equal(AugmentConfigSchema.parse({ crop: { percentageArea: 0.5 } }).crop.probability, 0.5);
});

test('rotate90 is a counter-clockwise quarter turn; four make the identity; mirror twice too', () => {
  const g = gradient(3);
  const r = rotate90(g);
  // Top-right corner goes to the top-left.
  assert.equal(px(r, 0, 0), px(g, S - 1, 0));
  assert.equal(px(r, 0, S - 1), px(g, 0, 0));
  assert.deepEqual(rotate90(rotate90(rotate90(r))).data, g.data);
  const m = mirror(g);
  assert.equal(px(m, 0, 5), px(g, S - 1, 5));
  assert.deepEqual(mirror(m).data, g.data);
});

test('rotate with crop: no black border is left, 0° is the identity, and it turns the right way', () => {
  for (const deg of [-25, -13, -1, 1, 7, 10]) {
    const r = rotateCropped(ones(), deg);
    const min = r.data.reduce((a, b) => Math.min(a, b), 1);
    assert.ok(min > 0.999, `${deg}°: darkest pixel ${min}`);
  }
  const g = gradient();
  const same = rotateCropped(g, 0);
  for (let i = 0; i < g.data.length; i++) assert.ok(Math.abs(same.data[i] - g.data[i]) < 1e-6);
  // Counter-clockwise (positive) lifts the right edge: the top-right corner then shows content from
  // further down, which the gradient makes brighter; clockwise shows content from further left.
  const ccw = rotateCropped(g, 10);
  const cw = rotateCropped(g, -10);
  assert.ok(px(ccw, S - 1, 0) > px(cw, S - 1, 0), 'counter-clockwise turns the right edge up');
  const [w, h] = largestRotatedRect(100, 100, Math.PI / 4);
  assert.ok(Math.abs(w - 100 / Math.SQRT2) < 1e-9 && Math.abs(h - 100 / Math.SQRT2) < 1e-9);
});

test('random crop takes a window of the given side fraction and scales it back', () => {
  const g = gradient();
  const c = cropScaled(g, 0.5, 0, 0);
  assert.ok(Math.abs(px(c, 0, 0) - px(g, 0, 0)) < 0.01);
  // The right edge of the output shows the source's middle column.
  assert.ok(Math.abs(px(c, S - 1, 0) - px(g, S / 2 - 1, 0)) < 0.02);
  const shifted = cropScaled(g, 0.5, S / 2, S / 2);
  assert.ok(Math.abs(px(shifted, 0, 0) - px(g, S / 2, S / 2)) < 0.02);
});

test('perspective: the identity quad changes nothing; a skew blackens only the side it tilts', () => {
  const m = homography(
    [
      [0, 0],
      [1, 0],
      [1, 1],
      [0, 1],
    ],
    [
      [0, 0],
      [2, 0],
      [2, 2],
      [0, 2],
    ],
  );
  assert.deepEqual(
    m.map((v) => Math.round(v * 1e9) / 1e9),
    [2, 0, 0, 0, 2, 0, 0, 0, 1],
  );
  const g = gradient();
  const id = perspective(g, [
    [0, 0],
    [S, 0],
    [S, S],
    [0, S],
  ]);
  for (let i = 0; i < g.data.length; i++) assert.ok(Math.abs(id.data[i] - g.data[i]) < 1e-5);
  // Left edge shorter: black wedges at the left corners, the right edge untouched.
  const tilted = perspective(ones(), [
    [0, -10],
    [S, 0],
    [S, S],
    [0, S + 10],
  ]);
  assert.ok(px(tilted, 0, 0) < 0.5 && px(tilted, 0, S - 1) < 0.5);
  assert.ok(px(tilted, S - 1, 0) > 0.99 && px(tilted, S / 2, S / 2) > 0.99);
  const s = randomSkew(ones(), 0.2, mulberry32(1));
  assert.ok(s.data.some((v) => v < 0.5), 'a skew leaves some black');
});

test('grid distortion keeps the border fixed and moves the inside; magnitude 0 is the identity', () => {
  const g = gradient();
  const none = gridDistortion(g, 4, 4, 0, mulberry32(1));
  for (let i = 0; i < g.data.length; i++) assert.ok(Math.abs(none.data[i] - g.data[i]) < 1e-6);
  const d = gridDistortion(g, 4, 4, 0.05, mulberry32(1));
  let moved = 0;
  for (let i = 0; i < g.data.length; i++) moved = Math.max(moved, Math.abs(d.data[i] - g.data[i]));
  assert.ok(moved > 0.01, 'the inside moved');
  // The grid's border points stay put, so the outermost pixel row (half a pixel in) barely moves.
  let edge = 0;
  for (let x = 0; x < S; x++) edge = Math.max(edge, Math.abs(px(d, x, 0) - px(g, x, 0)));
  assert.ok(edge < moved / 4, `top row moved ${edge}, inside ${moved}`);
});

test('the pipeline is deterministic by seed, keeps the size, and fires ops by their probability', () => {
  const cfg = defaultAugmentConfig();
  const g = gradient(3);
  const a = augmentImage(g, cfg, 123);
  const b = augmentImage(g, cfg, 123);
  assert.deepEqual(a.data, b.data);
  assert.deepEqual([a.width, a.height, a.channels], [S, S, 3]);
  let differ = 0;
  for (let seed = 0; seed < 10; seed++) if (augmentImage(g, cfg, seed).data.some((v, i) => v !== a.data[i])) differ++;
  assert.ok(differ >= 9);
  assert.ok(a.data.every((v) => v >= 0 && v <= 1.05));

  const off = AugmentConfigSchema.parse({
    skew: { probability: 0 },
    distortion: { probability: 0 },
    rotate90: { probability: 0 },
    rotate: { probability: 0 },
    crop: { probability: 0 },
    mirror: { probability: 1 },
  });
  const trace: AugmentTrace[] = [];
  assert.deepEqual(augmentImage(g, off, 5, trace).data, mirror(g).data);
  assert.deepEqual(trace, [{ op: 'mirror' }]);
  // Fired ops are composed into one warp; it matches applying them one after another.
  const turnThenMirror = AugmentConfigSchema.parse({ ...off, rotate90: { probability: 1 } });
  const composed = augmentImage(g, turnThenMirror, 5);
  const stepwise = mirror(rotate90(g));
  for (let i = 0; i < g.data.length; i++) assert.ok(Math.abs(composed.data[i] - stepwise.data[i]) < 1e-6);

  // Over many seeds each op fires about half the time (p = 0.5).
  const fired: Record<string, number> = {};
  for (let seed = 0; seed < 400; seed++) {
    const t: AugmentTrace[] = [];
    augmentImage({ width: 8, height: 8, channels: 1, data: new Float32Array(64) }, cfg, seed, t);
    for (const e of t) fired[e.op] = (fired[e.op] ?? 0) + 1;
  }
  for (const op of cfg.order) assert.ok(fired[op] > 140 && fired[op] < 260, `${op} fired ${fired[op]} / 400`);
});
