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

type SourceOf = (x: number, y: number, out: Float64Array) => void;

/**
 * Resamples the image: each output pixel centre (x+0.5, y+0.5) reads the source point `map`
 * gives (continuous coordinates, the image covering [0, w]×[0, h]), bilinear with edge clamping
 * inside the image and black outside it.
 */
function remap(img: RawImage, outW: number, outH: number, map: SourceOf): RawImage {
  const { width: w, height: h, channels: c, data: src } = img;
  const out = new Float32Array(outW * outH * c);
  const p = new Float64Array(2);
  const row = w * c;
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      map(x + 0.5, y + 0.5, p);
      if (!(p[0] >= 0 && p[1] >= 0 && p[0] <= w && p[1] <= h)) continue; // also drops NaN
      let sx = p[0] - 0.5;
      let sy = p[1] - 0.5;
      sx = sx < 0 ? 0 : sx > w - 1 ? w - 1 : sx;
      sy = sy < 0 ? 0 : sy > h - 1 ? h - 1 : sy;
      const x0 = Math.min(Math.floor(sx), w - 2 < 0 ? 0 : w - 2);
      const y0 = Math.min(Math.floor(sy), h - 2 < 0 ? 0 : h - 2);
      const fx = sx - x0;
      const fy = sy - y0;
      const dx = w > 1 ? c : 0;
      const dy = h > 1 ? row : 0;
      const i00 = y0 * row + x0 * c;
      const o = (y * outW + x) * c;
      const w00 = (1 - fx) * (1 - fy);
      const w10 = fx * (1 - fy);
      const w01 = (1 - fx) * fy;
      const w11 = fx * fy;
      for (let k = 0; k < c; k++) {
        const i = i00 + k;
        out[o + k] = src[i] * w00 + src[i + dx] * w10 + src[i + dy] * w01 + src[i + dy + dx] * w11;
      }
    }
  }
  return { width: outW, height: outH, channels: c, data: out };
}

/** A quarter turn counter-clockwise (PIL `rotate(90, expand=True)`). */
export function rotate90(img: RawImage): RawImage {
  const { width: w, height: h, channels: c, data } = img;
  const out = new Float32Array(data.length);
  // Output is h wide, w high: out(x', y') = src(w-1-y', x').
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
  const { width: w, height: h } = img;
  const t = (degrees * Math.PI) / 180;
  const [cw, ch] = largestRotatedRect(w, h, t);
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  const sx = cw / w;
  const sy = ch / h;
  return remap(img, w, h, (x, y, p) => {
    // Output pixel → point in the cropped rectangle (centred) → back through the rotation.
    const u = (x - w / 2) * sx;
    const v = (y - h / 2) * sy;
    p[0] = cos * u - sin * v + w / 2;
    p[1] = sin * u + cos * v + h / 2;
  });
}

/** A window of `fraction` of each side at (left, top), scaled back to the input size. */
export function cropScaled(img: RawImage, fraction: number, left: number, top: number): RawImage {
  const { width: w, height: h } = img;
  const cw = Math.max(1, Math.floor(w * fraction));
  const ch = Math.max(1, Math.floor(h * fraction));
  return remap(img, w, h, (x, y, p) => {
    p[0] = left + (x * cw) / w;
    p[1] = top + (y * ch) / h;
  });
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
  const { width: w, height: h } = img;
  const rect: [number, number][] = [
    [0, 0],
    [w, 0],
    [w, h],
    [0, h],
  ];
  const m = homography(rect, quad);
  return remap(img, w, h, (x, y, p) => {
    const z = m[6] * x + m[7] * y + m[8];
    p[0] = (m[0] * x + m[1] * y + m[2]) / z;
    p[1] = (m[3] * x + m[4] * y + m[5]) / z;
  });
}

function randInt(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

/** Augmentor's `skew` with type RANDOM: a tilt (one side narrows) or one corner moved, by 1..magnitude×max(w,h) pixels. */
export function randomSkew(img: RawImage, magnitude: number, rng: Rng): RawImage {
  const { width: w, height: h } = img;
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
  }
  else {
    // One corner moves outward along a random diagonal-ish direction.
    const corner = randInt(rng, 0, 3);
    const dx = corner === 0 || corner === 3 ? -amount : amount;
    const dy = corner === 0 || corner === 1 ? -amount : amount;
    if (kind === 4) q[corner][0] += dx;
    else q[corner][1] += dy;
  }
  return perspective(img, q);
}

/**
 * Augmentor's `random_distortion`: a grid of gw×gh cells whose inner corners move by up to
 * `magnitude` × side; each cell maps bilinearly onto its moved quad (PIL MESH).
 */
export function gridDistortion(img: RawImage, gw: number, gh: number, magnitude: number, rng: Rng): RawImage {
  const { width: w, height: h } = img;
  const dx = new Float64Array((gw + 1) * (gh + 1));
  const dy = new Float64Array((gw + 1) * (gh + 1));
  const mx = magnitude * w;
  const my = magnitude * h;
  for (let j = 1; j < gh; j++) {
    for (let i = 1; i < gw; i++) {
      dx[j * (gw + 1) + i] = (rng() * 2 - 1) * mx;
      dy[j * (gw + 1) + i] = (rng() * 2 - 1) * my;
    }
  }
  const cellW = w / gw;
  const cellH = h / gh;
  return remap(img, w, h, (x, y, p) => {
    const fi = Math.min(gw - 1e-9, x / cellW);
    const fj = Math.min(gh - 1e-9, y / cellH);
    const i = Math.floor(fi);
    const j = Math.floor(fj);
    const s = fi - i;
    const t = fj - j;
    const k = j * (gw + 1) + i;
    const ddx = (1 - t) * ((1 - s) * dx[k] + s * dx[k + 1]) + t * ((1 - s) * dx[k + gw + 1] + s * dx[k + gw + 2]);
    const ddy = (1 - t) * ((1 - s) * dy[k] + s * dy[k + 1]) + t * ((1 - s) * dy[k + gw + 1] + s * dy[k + gw + 2]);
    p[0] = x + ddx;
    p[1] = y + ddy;
  });
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
  let out = img;
  for (const op of config.order) {
    // Draw the coin for every op, fired or not, so one op's parameters never shift another's.
    const fire = rng() < config[op].probability;
    if (!fire) continue;
    if (op === 'skew') out = randomSkew(out, config.skew.magnitude, rng);
    else if (op === 'distortion') out = gridDistortion(out, config.distortion.gridWidth, config.distortion.gridHeight, config.distortion.magnitude, rng);
    else if (op === 'rotate90') out = rotate90(out);
    else if (op === 'rotate') {
      const left = rng() < 0.5;
      const deg = left ? -randInt(rng, 0, Math.floor(config.rotate.maxLeft)) : randInt(rng, 0, Math.floor(config.rotate.maxRight));
      out = rotateCropped(out, deg);
      trace?.push({ op, detail: `${deg}°` });
      continue;
    } else if (op === 'crop') {
      const f = config.crop.percentageArea;
      const cw = Math.floor(out.width * f);
      const ch = Math.floor(out.height * f);
      out = cropScaled(out, f, randInt(rng, 0, out.width - cw), randInt(rng, 0, out.height - ch));
    } else out = mirror(out);
    trace?.push({ op });
  }
  return out;
}
