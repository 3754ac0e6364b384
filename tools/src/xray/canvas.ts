/**
 * A float density map with the patient's coordinate frame attached. Patient
 * coordinates: x in about [-1, 1] across the rib cage (negative = image left =
 * the patient's right, as a PA film is viewed), y from 0 at the lung apices to
 * about 0.85 at the diaphragm. Every primitive is drawn only over the image
 * box its patient-space box maps to, so drawing stays cheap.
 */
import type { Rng } from './random';

export interface Placement {
  /** Image centre of the patient frame, in pixels. */
  cu: number;
  cv: number;
  /** Pixels per patient unit, horizontally and vertically. */
  sx: number;
  sy: number;
  /** Rotation of the patient in the image, radians. */
  theta: number;
}

export class Canvas {
  readonly n: number;
  /** Patient coordinates of every pixel centre. */
  readonly X: Float32Array;
  readonly Y: Float32Array;
  private readonly cos: number;
  private readonly sin: number;

  constructor(
    n: number,
    readonly place: Placement,
  ) {
    this.n = n;
    this.X = new Float32Array(n * n);
    this.Y = new Float32Array(n * n);
    this.cos = Math.cos(place.theta);
    this.sin = Math.sin(place.theta);
    for (let v = 0; v < n; v++) {
      for (let u = 0; u < n; u++) {
        const du = u + 0.5 - place.cu;
        const dv = v + 0.5 - place.cv;
        const a = du * this.cos + dv * this.sin;
        const b = -du * this.sin + dv * this.cos;
        this.X[v * n + u] = a / place.sx;
        this.Y[v * n + u] = b / place.sy + 0.5;
      }
    }
  }

  layer(): Float32Array {
    return new Float32Array(this.n * this.n);
  }

  /** Pixel box [u0, u1) × [v0, v1) covering a patient-space box. */
  box(x0: number, x1: number, y0: number, y1: number): [number, number, number, number] {
    const { cu, cv, sx, sy } = this.place;
    let umin = Infinity;
    let umax = -Infinity;
    let vmin = Infinity;
    let vmax = -Infinity;
    for (const x of [x0, x1]) {
      for (const y of [y0, y1]) {
        const a = x * sx;
        const b = (y - 0.5) * sy;
        const u = cu + a * this.cos - b * this.sin;
        const v = cv + a * this.sin + b * this.cos;
        umin = Math.min(umin, u);
        umax = Math.max(umax, u);
        vmin = Math.min(vmin, v);
        vmax = Math.max(vmax, v);
      }
    }
    const n = this.n;
    return [
      Math.max(0, Math.floor(umin) - 1),
      Math.min(n, Math.ceil(umax) + 1),
      Math.max(0, Math.floor(vmin) - 1),
      Math.min(n, Math.ceil(vmax) + 1),
    ];
  }

  /** Adds an elliptical Gaussian blob (sd rx, ry in patient units, rotated by angle). */
  blob(layer: Float32Array, x: number, y: number, rx: number, ry: number, amp: number, angle = 0): void {
    const r = 3 * Math.max(rx, ry);
    const [u0, u1, v0, v1] = this.box(x - r, x + r, y - r, y + r);
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    const n = this.n;
    for (let v = v0; v < v1; v++) {
      for (let u = u0; u < u1; u++) {
        const i = v * n + u;
        const dx = this.X[i] - x;
        const dy = this.Y[i] - y;
        const p = (dx * c + dy * s) / rx;
        const q = (-dx * s + dy * c) / ry;
        const d2 = p * p + q * q;
        if (d2 < 9) layer[i] += amp * Math.exp(-0.5 * d2);
      }
    }
  }

  /**
   * Adds a band along the curve y = f(x) for x in [xa, xb] with a smooth
   * cross-section of half-thickness h (measured vertically).
   */
  band(layer: Float32Array, xa: number, xb: number, f: (x: number) => number, h: number, amp: (x: number) => number): void {
    let ymin = Infinity;
    let ymax = -Infinity;
    for (let k = 0; k <= 16; k++) {
      const y = f(xa + ((xb - xa) * k) / 16);
      ymin = Math.min(ymin, y);
      ymax = Math.max(ymax, y);
    }
    const [u0, u1, v0, v1] = this.box(xa, xb, ymin - h, ymax + h);
    // Tabulate the curve and its amplitude once; pixels interpolate.
    const K = 128;
    const fy = new Float32Array(K + 1);
    const fa = new Float32Array(K + 1);
    for (let k = 0; k <= K; k++) {
      const x = xa + ((xb - xa) * k) / K;
      fy[k] = f(x);
      fa[k] = amp(x);
    }
    const scale = K / (xb - xa);
    const n = this.n;
    for (let v = v0; v < v1; v++) {
      for (let u = u0; u < u1; u++) {
        const i = v * n + u;
        const x = this.X[i];
        if (x < xa || x > xb) continue;
        const q = (x - xa) * scale;
        const k = Math.min(K - 1, Math.floor(q));
        const w = q - k;
        const d = Math.abs(this.Y[i] - (fy[k] + (fy[k + 1] - fy[k]) * w)) / h;
        if (d < 1) {
          const t = 1 - d * d;
          layer[i] += (fa[k] + (fa[k + 1] - fa[k]) * w) * t * Math.sqrt(t);
        }
      }
    }
  }

  /** A thin line (Gaussian cross-section, sd w) between two patient points. */
  segment(layer: Float32Array, x0: number, y0: number, x1: number, y1: number, w: number, amp: number): void {
    const r = 3 * w;
    const [u0, u1, v0, v1] = this.box(Math.min(x0, x1) - r, Math.max(x0, x1) + r, Math.min(y0, y1) - r, Math.max(y0, y1) + r);
    const ex = x1 - x0;
    const ey = y1 - y0;
    const len2 = Math.max(ex * ex + ey * ey, 1e-12);
    const n = this.n;
    for (let v = v0; v < v1; v++) {
      for (let u = u0; u < u1; u++) {
        const i = v * n + u;
        const px = this.X[i] - x0;
        const py = this.Y[i] - y0;
        const t = Math.min(1, Math.max(0, (px * ex + py * ey) / len2));
        const dx = px - t * ex;
        const dy = py - t * ey;
        const d2 = (dx * dx + dy * dy) / (w * w);
        if (d2 < 9) layer[i] += amp * Math.exp(-0.5 * d2);
      }
    }
  }
}

export function smoothstep(e0: number, e1: number, x: number): number {
  const t = Math.min(1, Math.max(0, (x - e0) / (e1 - e0)));
  return t * t * (3 - 2 * t);
}

/** Smooth value noise in [0, 1] on an n×n grid with `cells` cells across. */
export function valueNoise(rng: Rng, n: number, cells: number): Float32Array {
  const g = cells + 1;
  const grid = new Float32Array(g * g);
  for (let i = 0; i < grid.length; i++) grid[i] = rng.next();
  const out = new Float32Array(n * n);
  for (let v = 0; v < n; v++) {
    const fy = ((v + 0.5) / n) * cells;
    const iy = Math.min(cells - 1, Math.floor(fy));
    const ty = smoothstep(0, 1, fy - iy);
    for (let u = 0; u < n; u++) {
      const fx = ((u + 0.5) / n) * cells;
      const ix = Math.min(cells - 1, Math.floor(fx));
      const tx = smoothstep(0, 1, fx - ix);
      const a = grid[iy * g + ix];
      const b = grid[iy * g + ix + 1];
      const c = grid[(iy + 1) * g + ix];
      const d = grid[(iy + 1) * g + ix + 1];
      out[v * n + u] = (a + (b - a) * tx) * (1 - ty) + (c + (d - c) * tx) * ty;
    }
  }
  return out;
}

/** Separable box blur of radius r (pixels), repeated `passes` times (≈ Gaussian). Returns a new array. */
export function blur(src: Float32Array, n: number, r: number, passes = 2): Float32Array {
  const a = Float32Array.from(src);
  if (r < 1) return a;
  const b = new Float32Array(n * n);
  const w = 2 * r + 1;
  const m = n - 1;
  for (let p = 0; p < passes; p++) {
    for (let v = 0; v < n; v++) {
      const row = v * n;
      let acc = 0;
      for (let k = -r; k <= r; k++) acc += a[row + (k < 0 ? 0 : k > m ? m : k)];
      for (let u = 0; u < n; u++) {
        b[row + u] = acc / w;
        acc += a[row + Math.min(m, u + r + 1)] - a[row + Math.max(0, u - r)];
      }
    }
    for (let u = 0; u < n; u++) {
      let acc = 0;
      for (let k = -r; k <= r; k++) acc += b[(k < 0 ? 0 : k > m ? m : k) * n + u];
      for (let v = 0; v < n; v++) {
        a[v * n + u] = acc / w;
        acc += b[Math.min(m, v + r + 1) * n + u] - b[Math.max(0, v - r) * n + u];
      }
    }
  }
  return a;
}
