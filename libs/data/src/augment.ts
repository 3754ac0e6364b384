import { z } from 'zod';
import type { RawImage } from './decode';
import { mulberry32 } from './rng';
import type { Rng } from './rng';

/**
 * The study's Augmentor pipeline as configuration: each operation fires with its probability,
 * in `order`. Defaults: the study's rotations (`rotate90(p=0.5)`, `rotate(p=0.5, max_left=25,
 * max_right=10)`); the other operations the study named without parameters take Augmentor's
 * documented example values.
 */
export const AugmentConfigSchema = z
  .object({
    /** Perspective skew (Augmentor `skew`): corners move inward by up to `magnitude` × the longer side. */
    skew: z.object({ probability: z.number().min(0).max(1).default(0.5), magnitude: z.number().min(0).max(1).default(0.2) }).prefault({}),
    /**
     * Elastic grid distortion (Augmentor `random_distortion`): the inner points of a
     * `gridWidth`×`gridHeight` grid move by up to `magnitude` × the image side
     * (Augmentor counts pixels: its example 8 px is 0.036 of 224).
     */
    distortion: z
      .object({
        probability: z.number().min(0).max(1).default(0.5),
        gridWidth: z.number().int().min(2).max(32).default(4),
        gridHeight: z.number().int().min(2).max(32).default(4),
        magnitude: z.number().min(0).max(0.25).default(0.036),
      })
      .prefault({}),
    /** Augmentor `rotate90`: a quarter turn counter-clockwise. */
    rotate90: z.object({ probability: z.number().min(0).max(1).default(0.5) }).prefault({}),
    /**
     * Augmentor `rotate`: a whole-degree angle up to `maxLeft` clockwise or `maxRight`
     * counter-clockwise, then the largest upright rectangle inside is cropped and scaled back,
     * so no black corners remain.
     */
    rotate: z
      .object({
        probability: z.number().min(0).max(1).default(0.5),
        maxLeft: z.number().min(0).max(25).default(25),
        maxRight: z.number().min(0).max(25).default(10),
      })
      .prefault({}),
    /** Augmentor `crop_random`: a random window of `percentageArea` of each side, scaled back. */
    crop: z.object({ probability: z.number().min(0).max(1).default(0.5), percentageArea: z.number().gt(0).max(1).default(0.8) }).prefault({}),
    /** Augmentor `flip_left_right`. */
    mirror: z.object({ probability: z.number().min(0).max(1).default(0.5) }).prefault({}),
    order: z
      .array(z.enum(['skew', 'distortion', 'rotate90', 'rotate', 'crop', 'mirror']))
      .default(['skew', 'distortion', 'rotate90', 'rotate', 'crop', 'mirror']),
  })
  .strict();

export type AugmentConfig = z.infer<typeof AugmentConfigSchema>;
export type AugmentInput = z.input<typeof AugmentConfigSchema>;
export type AugmentOp = AugmentConfig['order'][number];

/** The study's augmentation with every default filled in. */
export function defaultAugmentConfig(): AugmentConfig {
  return AugmentConfigSchema.parse({});
}

/**
 * One step of the inverse map from output to source coordinates (continuous: the image covers
 * [0, w]×[0, h]; pixel centres at +0.5). Projective steps (rotations, crops, mirrors, skews)
 * are 3×3 matrices and merge into one; the grid distortion is its own step.
 */
type Stage =
  | { kind: 'proj'; m: number[] }
  | { kind: 'grid'; gw: number; gh: number; cellW: number; cellH: number; dx: Float64Array; dy: Float64Array };

/** Geometry built up op by op, then sampled once (one interpolation, however many ops fired). */
class Warp {
  /** Output → source, applied in order. */
  readonly stages: Stage[] = [];
  constructor(
    public width: number,
    public height: number,
  ) {}

  /** Appends an op whose inverse is `m` and whose output is (w, h). */
  project(m: number[], w = this.width, h = this.height): this {
    const first = this.stages[0];
    if (first && first.kind === 'proj') first.m = mul3(first.m, m);
    else this.stages.unshift({ kind: 'proj', m });
    this.width = w;
    this.height = h;
    return this;
  }

  grid(stage: Extract<Stage, { kind: 'grid' }>): this {
    this.stages.unshift(stage);
    return this;
  }

  get identity(): boolean {
    return this.stages.length === 0;
  }

  apply(img: RawImage): RawImage {
    if (this.identity) return img;
    return sample(img, this.width, this.height, this.stages);
  }
}

function mul3(a: number[], b: number[]): number[] {
  const o = new Array<number>(9);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) o[r * 3 + c] = a[r * 3] * b[c] + a[r * 3 + 1] * b[3 + c] + a[r * 3 + 2] * b[6 + c];
  return o;
}

/**
 * Resamples through the stages: bilinear with edge clamping inside the source, black outside it.
 */
function sample(img: RawImage, outW: number, outH: number, stages: Stage[]): RawImage {
  const { width: w, height: h, channels: c, data: src } = img;
  const out = new Float32Array(outW * outH * c);
  const row = w * c;
  const dx1 = w > 1 ? c : 0;
  const dy1 = h > 1 ? row : 0;
  const xMax = Math.max(0, w - 2);
  const yMax = Math.max(0, h - 2);
  const ns = stages.length;
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      let X = x + 0.5;
      let Y = y + 0.5;
      for (let k = 0; k < ns; k++) {
        const st = stages[k];
        if (st.kind === 'proj') {
          const m = st.m;
          const z = m[6] * X + m[7] * Y + m[8];
          const nx = (m[0] * X + m[1] * Y + m[2]) / z;
          Y = (m[3] * X + m[4] * Y + m[5]) / z;
          X = nx;
        } else {
          const fi = Math.min(st.gw - 1e-9, Math.max(0, X / st.cellW));
          const fj = Math.min(st.gh - 1e-9, Math.max(0, Y / st.cellH));
          const i = Math.floor(fi);
          const j = Math.floor(fj);
          const s = fi - i;
          const t = fj - j;
          const q = j * (st.gw + 1) + i;
          const r = q + st.gw + 1;
          const a = (1 - s) * (1 - t);
          const b = s * (1 - t);
          const d = (1 - s) * t;
          const e = s * t;
          X += a * st.dx[q] + b * st.dx[q + 1] + d * st.dx[r] + e * st.dx[r + 1];
          Y += a * st.dy[q] + b * st.dy[q + 1] + d * st.dy[r] + e * st.dy[r + 1];
        }
      }
      if (!(X >= 0 && Y >= 0 && X <= w && Y <= h)) continue; // also drops NaN
      let sx = X - 0.5;
      let sy = Y - 0.5;
      sx = sx < 0 ? 0 : sx > w - 1 ? w - 1 : sx;
      sy = sy < 0 ? 0 : sy > h - 1 ? h - 1 : sy;
      const x0 = Math.min(Math.floor(sx), xMax);
      const y0 = Math.min(Math.floor(sy), yMax);
      const fx = sx - x0;
      const fy = sy - y0;
      const i00 = y0 * row + x0 * c;
      const o = (y * outW + x) * c;
      const w00 = (1 - fx) * (1 - fy);
      const w10 = fx * (1 - fy);
      const w01 = (1 - fx) * fy;
      const w11 = fx * fy;
      for (let k = 0; k < c; k++) {
        const i = i00 + k;
        out[o + k] = src[i] * w00 + src[i + dx1] * w10 + src[i + dy1] * w01 + src[i + dy1 + dx1] * w11;
      }
    }
  }
  return { width: outW, height: outH, channels: c, data: out };
}

function rotate90Stage(warp: Warp): Warp {
  // Output is h wide, w high; out(x', y') reads src(w - y', x').
  return warp.project([0, -1, warp.width, 1, 0, 0, 0, 0, 1], warp.height, warp.width);
}

function mirrorStage(warp: Warp): Warp {
  return warp.project([-1, 0, warp.width, 0, 1, 0, 0, 0, 1]);
}

function rotateStage(warp: Warp, degrees: number): Warp {
  const { width: w, height: h } = warp;
  const t = (degrees * Math.PI) / 180;
  const [cw, ch] = largestRotatedRect(w, h, t);
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  const sx = cw / w;
  const sy = ch / h;
  // src = T(w/2, h/2) · R(t) · S(sx, sy) · T(-w/2, -h/2) · out
  const a = cos * sx;
  const b = -sin * sy;
  const d = sin * sx;
  const e = cos * sy;
  return warp.project([a, b, w / 2 - a * (w / 2) - b * (h / 2), d, e, h / 2 - d * (w / 2) - e * (h / 2), 0, 0, 1]);
}

function cropStage(warp: Warp, fraction: number, left: number, top: number): Warp {
  const { width: w, height: h } = warp;
  const cw = Math.max(1, Math.floor(w * fraction));
  const ch = Math.max(1, Math.floor(h * fraction));
  return warp.project([cw / w, 0, left, 0, ch / h, top, 0, 0, 1]);
}

function perspectiveStage(warp: Warp, quad: [number, number][]): Warp {
  const { width: w, height: h } = warp;
  const rect: [number, number][] = [
    [0, 0],
    [w, 0],
    [w, h],
    [0, h],
  ];
  return warp.project(homography(rect, quad));
}

function gridStage(warp: Warp, gw: number, gh: number, magnitude: number, rng: Rng): Warp {
  const { width: w, height: h } = warp;
  const dx = new Float64Array((gw + 1) * (gh + 1));
  const dy = new Float64Array((gw + 1) * (gh + 1));
  for (let j = 1; j < gh; j++) {
    for (let i = 1; i < gw; i++) {
      dx[j * (gw + 1) + i] = (rng() * 2 - 1) * magnitude * w;
      dy[j * (gw + 1) + i] = (rng() * 2 - 1) * magnitude * h;
    }
  }
  return warp.grid({ kind: 'grid', gw, gh, cellW: w / gw, cellH: h / gh, dx, dy });
}

/** A quarter turn counter-clockwise (PIL `rotate(90, expand=True)`). */
export function rotate90(img: RawImage): RawImage {
  const { width: w, height: h, channels: c, data } = img;
  const out = new Float32Array(data.length);
  for (let y = 0; y < w; y++) {
    for (let x = 0; x < h; x++) {
      const s = (x * w + (w - 1 - y)) * c;
      const o = (y * h + x) * c;
      for (let k = 0; k < c; k++) out[o + k] = data[s + k];
    }
  }
  return { width: h, height: w, channels: c, data: out };
}

export function mirror(img: RawImage): RawImage {
  const { width: w, height: h, channels: c, data } = img;
  const out = new Float32Array(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = (y * w + x) * c;
      const o = (y * w + (w - 1 - x)) * c;
      for (let k = 0; k < c; k++) out[o + k] = data[s + k];
    }
  }
  return { ...img, data: out };
}

/** Width and height of the largest axis-aligned rectangle inside a w×h rectangle rotated by `angle` radians. */
export function largestRotatedRect(w: number, h: number, angle: number): [number, number] {
  const sinA = Math.abs(Math.sin(angle));
  const cosA = Math.abs(Math.cos(angle));
  if (sinA < 1e-12) return [w, h];
  const widthLonger = w >= h;
  const long = widthLonger ? w : h;
  const short = widthLonger ? h : w;
  if (short <= 2 * sinA * cosA * long || Math.abs(sinA - cosA) < 1e-10) {
    const x = 0.5 * short;
    return widthLonger ? [x / sinA, x / cosA] : [x / cosA, x / sinA];
  }
  const cos2a = cosA * cosA - sinA * sinA;
  return [(w * cosA - h * sinA) / cos2a, (h * cosA - w * sinA) / cos2a];
}

/**
 * Rotates by `degrees` counter-clockwise (negative: clockwise), crops the largest upright
 * rectangle that holds no border, and scales it back to the input size (Augmentor `RotateRange`).
 */
export function rotateCropped(img: RawImage, degrees: number): RawImage {
  return rotateStage(new Warp(img.width, img.height), degrees).apply(img);
}

/** A window of `fraction` of each side at (left, top), scaled back to the input size. */
export function cropScaled(img: RawImage, fraction: number, left: number, top: number): RawImage {
  return cropStage(new Warp(img.width, img.height), fraction, left, top).apply(img);
}

/** Solves the 3×3 homography (h33 = 1) taking the four `from` points to the four `to` points. */
export function homography(from: [number, number][], to: [number, number][]): number[] {
  const a: number[][] = [];
  for (let i = 0; i < 4; i++) {
    const [x, y] = from[i];
    const [u, v] = to[i];
    a.push([x, y, 1, 0, 0, 0, -u * x, -u * y, u]);
    a.push([0, 0, 0, x, y, 1, -v * x, -v * y, v]);
  }
  for (let col = 0; col < 8; col++) {
    let piv = col;
    for (let r = col + 1; r < 8; r++) if (Math.abs(a[r][col]) > Math.abs(a[piv][col])) piv = r;
    [a[col], a[piv]] = [a[piv], a[col]];
    const d = a[col][col];
    if (Math.abs(d) < 1e-12) throw new Error('degenerate perspective quad');
    for (let k = col; k < 9; k++) a[col][k] /= d;
    for (let r = 0; r < 8; r++) {
      if (r === col) continue;
      const f = a[r][col];
      if (f !== 0) for (let k = col; k < 9; k++) a[r][k] -= f * a[col][k];
    }
  }
  return [...a.map((row) => row[8]), 1];
}

/**
 * Perspective skew: the output's corners read from the moved corners `quad` (top-left,
 * top-right, bottom-right, bottom-left), so the picture appears tilted, black where it leaves
 * the frame, as Augmentor's `skew` does.
 */
export function perspective(img: RawImage, quad: [number, number][]): RawImage {
  return perspectiveStage(new Warp(img.width, img.height), quad).apply(img);
}

function randInt(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

function skewQuad(w: number, h: number, magnitude: number, rng: Rng): [number, number][] {
  const amount = randInt(rng, 1, Math.max(1, Math.ceil(Math.max(w, h) * magnitude)));
  // Output corners pull from points *outside* the frame (inverse map), which shows the picture shrunk on that side.
  const q: [number, number][] = [
    [0, 0],
    [w, 0],
    [w, h],
    [0, h],
  ];
  const kind = randInt(rng, 0, 5);
  if (kind === 0) {
    q[0][1] -= amount; // tilt: left edge shorter
    q[3][1] += amount;
  } else if (kind === 1) {
    q[1][1] -= amount; // right edge shorter
    q[2][1] += amount;
  } else if (kind === 2) {
    q[0][0] -= amount; // top edge shorter
    q[1][0] += amount;
  } else if (kind === 3) {
    q[3][0] -= amount; // bottom edge shorter
    q[2][0] += amount;
  } else {
    // One corner pulled outward, horizontally (kind 4) or vertically (kind 5).
    const corner = randInt(rng, 0, 3);
    if (kind === 4) q[corner][0] += corner === 0 || corner === 3 ? -amount : amount;
    else q[corner][1] += corner === 0 || corner === 1 ? -amount : amount;
  }
  return q;
}

/** Augmentor's `skew` with type RANDOM: a tilt (one side narrows) or one corner moved, by 1..magnitude×max(w,h) pixels. */
export function randomSkew(img: RawImage, magnitude: number, rng: Rng): RawImage {
  return perspective(img, skewQuad(img.width, img.height, magnitude, rng));
}

/**
 * Augmentor's `random_distortion`: a grid of gw×gh cells whose inner corners move by up to
 * `magnitude` × side; each cell maps bilinearly onto its moved quad (PIL MESH).
 */
export function gridDistortion(img: RawImage, gw: number, gh: number, magnitude: number, rng: Rng): RawImage {
  return gridStage(new Warp(img.width, img.height), gw, gh, magnitude, rng).apply(img);
}

/** What one run of the pipeline did, for previews and tests. */
export interface AugmentTrace {
  op: AugmentOp;
  detail?: string;
}

/**
 * Runs the pipeline on one image. Every random choice comes from `seed` (or the generator), so
 * the same image and seed always give the same output. The output has the input's size.
 */
export function augmentImage(img: RawImage, config: AugmentConfig, seedOrRng: number | Rng, trace?: AugmentTrace[]): RawImage {
  const rng = typeof seedOrRng === 'number' ? mulberry32(seedOrRng) : seedOrRng;
  const warp = new Warp(img.width, img.height);
  for (const op of config.order) {
    // Draw the coin for every op, fired or not, so one op's parameters never shift another's.
    const fire = rng() < config[op].probability;
    if (!fire) continue;
    if (op === 'skew') perspectiveStage(warp, skewQuad(warp.width, warp.height, config.skew.magnitude, rng));
    else if (op === 'distortion') gridStage(warp, config.distortion.gridWidth, config.distortion.gridHeight, config.distortion.magnitude, rng);
    else if (op === 'rotate90') rotate90Stage(warp);
    else if (op === 'rotate') {
      const left = rng() < 0.5;
      const deg = left ? -randInt(rng, 0, Math.floor(config.rotate.maxLeft)) : randInt(rng, 0, Math.floor(config.rotate.maxRight));
      rotateStage(warp, deg);
      trace?.push({ op, detail: `${deg}°` });
      continue;
    } else if (op === 'crop') {
      const f = config.crop.percentageArea;
      const cw = Math.floor(warp.width * f);
      const ch = Math.floor(warp.height * f);
      cropStage(warp, f, randInt(rng, 0, warp.width - cw), randInt(rng, 0, warp.height - ch));
    } else mirrorStage(warp);
    trace?.push({ op });
  }
  // All fired ops are sampled in one pass: one interpolation, and the cost of one warp.
  return warp.apply(img);
}
