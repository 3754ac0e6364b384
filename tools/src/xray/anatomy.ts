/**
 * The normal chest every image starts from: body outline, lung fields, heart,
 * mediastinum, spine, clavicles, ribs, diaphragm domes and lung vessels, each
 * with its own seeded variation (patient size, inspiration, heart size, ...).
 */
import { Canvas, smoothstep, valueNoise } from './canvas';
import type { Rng } from './random';

export interface Chest {
  canvas: Canvas;
  /** Soft-tissue thickness (0 = air outside the body). */
  tissue: Float32Array;
  /** Lung air (0..1): how much of the tissue is replaced by aerated lung. */
  air: Float32Array;
  /** Bone density added on top. */
  bone: Float32Array;
  /** Vessel density, shown only where there is lung. */
  vessels: Float32Array;
  /** Geometry the lesions are placed against. */
  apex: number;
  /** Diaphragm dome height per side: [image left (patient's right), image right]. */
  dome: [number, number];
  lateral: number;
}

export function drawChest(rng: Rng, n: number): Chest {
  const s = rng.range(0.86, 1.06);
  const canvas = new Canvas(n, {
    cu: n * (0.5 + rng.normal(0, 0.018)),
    cv: n * (0.53 + rng.normal(0, 0.02)),
    sx: n * 0.4 * s * rng.range(0.94, 1.06),
    sy: n * 0.66 * s * rng.range(0.94, 1.06),
    theta: rng.normal(0, 0.03),
  });
  const N = n * n;
  const { X, Y } = canvas;
  const tissue = canvas.layer();
  const air = canvas.layer();
  const bone = canvas.layer();
  const vessels = canvas.layer();

  // Geometry of this patient.
  const apex = rng.range(0.02, 0.08);
  const inspiration = rng.normal(0, 0.035);
  const domeR = 0.78 + inspiration;
  const domeL = domeR + rng.range(0.0, 0.05);
  const lateral = rng.range(0.84, 0.95);
  const bodyW = lateral + rng.range(0.1, 0.24);
  const heart = { x: rng.range(0.1, 0.18), y: domeL - 0.1, rx: rng.range(0.32, 0.44), ry: rng.range(0.17, 0.23) };
  const mediastinum = rng.range(0.09, 0.13);

  // Body: a cylinder of soft tissue, broader at the shoulders, thicker below the diaphragm.
  for (let i = 0; i < N; i++) {
    const x = X[i];
    const y = Y[i];
    // Shoulders flare out above the apices; the neck narrows above them.
    const shoulder = bodyW + 0.18;
    const w = y > -0.05 ? bodyW + 0.18 * smoothstep(0.25, -0.05, y) : 0.45 + (shoulder - 0.45) * smoothstep(-0.32, -0.05, y);
    const ax = Math.abs(x);
    if (ax >= w) continue;
    const profile = Math.sqrt(1 - (ax / w) ** 2);
    const edge = smoothstep(0, 0.06, w - ax);
    const abdomen = 0.1 * smoothstep(domeR - 0.05, domeR + 0.25, y);
    tissue[i] = edge * (0.4 + 0.6 * profile + abdomen);
  }
  if (rng.chance(0.4)) {
    // Breast shadows over the lower zones.
    const amp = rng.range(0.06, 0.16);
    for (const sgn of [-1, 1]) canvas.blob(tissue, sgn * rng.range(0.45, 0.65), domeR + rng.range(-0.02, 0.06), 0.28, 0.12, amp);
  }

  // Lungs.
  for (let i = 0; i < N; i++) {
    const x = X[i];
    const y = Y[i];
    const sgn = x < 0 ? -1 : 1;
    const px = Math.abs(x);
    const dome = sgn < 0 ? domeR : domeL;
    const t = Math.min(1, Math.max(0, (y - apex) / 0.5));
    const lat = 0.16 + (lateral - 0.16) * (1 - (1 - t) ** 2.4);
    const med = mediastinum + 0.04 * t;
    const bottom = dome + 0.13 * Math.min(1, ((px - 0.4) / 0.5) ** 2);
    const e = 0.035;
    const a =
      smoothstep(0, e, px - med) * smoothstep(0, e, lat - px) * smoothstep(0, e, bottom - y) * smoothstep(0, e * 1.5, y - apex);
    if (a <= 0) continue;
    // Thicker lung (darker) in the middle of each field.
    const depth = 0.82 + 0.18 * Math.sin(Math.PI * Math.min(1, Math.max(0, (px - med) / (lat - med))));
    // Heart and aortic knob take the place of lung.
    const hx = (x - heart.x) / heart.rx;
    const hy = (y - heart.y) / heart.ry;
    const hr = Math.sqrt(hx * hx + hy * hy);
    const heartCover = smoothstep(1.05, 0.85, hr);
    const kx = (x - 0.14) / 0.07;
    const ky = (y - 0.26) / 0.06;
    const knob = smoothstep(1.1, 0.8, Math.sqrt(kx * kx + ky * ky));
    air[i] = a * depth * (1 - 0.9 * Math.max(heartCover, knob));
  }
  // Gastric bubble under the left dome (image right).
  if (rng.chance(0.6)) canvas.blob(tissue, rng.range(0.35, 0.6), domeL + rng.range(0.1, 0.16), 0.09, 0.04, -rng.range(0.2, 0.4));
  // Trachea.
  canvas.segment(air, 0, -0.3, rng.normal(0, 0.02), 0.3, 0.03, 0.35);

  // Spine (vertebral bodies show faintly through the mediastinum).
  for (let i = 0; i < N; i++) {
    const ax = Math.abs(X[i]);
    if (ax > 0.12) continue;
    const y = Y[i];
    tissue[i] += 0.18 * smoothstep(0.11, 0.07, ax) * (0.8 + 0.2 * Math.cos((2 * Math.PI * y) / 0.085));
  }

  // Ribs: posterior ribs arc out from the spine and fall laterally; anterior ribs are fainter.
  const spacing = (domeR - apex) / rng.range(8.4, 9.2);
  const ribAmp = rng.range(0.06, 0.13);
  for (let k = 0; k < 11; k++) {
    const y0 = apex - 0.05 + k * spacing;
    const h = 0.017 + 0.0012 * k;
    for (const sgn of [-1, 1]) {
      const jitter = rng.normal(0, 0.006);
      const f = (x: number) => {
        const t = (Math.abs(x) - 0.05) / 0.95;
        return y0 + jitter - 0.07 * Math.sin(Math.PI * t * 0.7) + 0.3 * t ** 2.2;
      };
      const amp = (x: number) => ribAmp * smoothstep(0.04, 0.2, Math.abs(x)) * smoothstep(lateral + 0.16, lateral - 0.02, Math.abs(x));
      if (sgn < 0) canvas.band(bone, -1.1, -0.05, f, h, amp);
      else canvas.band(bone, 0.05, 1.1, f, h, amp);
    }
  }
  for (let k = 0; k < 6; k++) {
    const y0 = apex + 0.08 + k * spacing * 1.15;
    for (const sgn of [-1, 1]) {
      const f = (x: number) => y0 + 0.26 * (1 - Math.abs(x) / lateral);
      const amp = (x: number) => 0.5 * ribAmp * smoothstep(0.3, 0.5, Math.abs(x)) * smoothstep(lateral + 0.05, lateral - 0.1, Math.abs(x));
      if (sgn < 0) canvas.band(bone, -lateral, -0.3, f, 0.024, amp);
      else canvas.band(bone, 0.3, lateral, f, 0.024, amp);
    }
  }
  // Clavicles.
  const clav = rng.range(-0.06, 0.04);
  for (const sgn of [-1, 1]) {
    const f = (x: number) => {
      const t = Math.abs(x);
      return apex + clav + 0.02 - 0.08 * t + 0.03 * Math.sin(Math.PI * t);
    };
    const amp = (x: number) => 0.3 * smoothstep(0.08, 0.2, Math.abs(x));
    if (sgn < 0) canvas.band(bone, -1.05, -0.08, f, 0.038, amp);
    else canvas.band(bone, 0.08, 1.05, f, 0.038, amp);
  }

  // Vessels: branching markings from each hilum, fading towards the periphery.
  const vesselAmp = rng.range(0.12, 0.24);
  for (const sgn of [-1, 1]) {
    const hx = sgn * rng.range(0.22, 0.28);
    const hy = rng.range(0.38, 0.46);
    canvas.blob(vessels, hx, hy, 0.05, 0.07, vesselAmp * 1.6);
    const branches = rng.int(10, 15);
    for (let b = 0; b < branches; b++) {
      let angle = (b / branches) * Math.PI * 1.5 - Math.PI * 0.75 + rng.normal(0, 0.15);
      let x = hx;
      let y = hy;
      let w = 0.012;
      let amp = vesselAmp;
      const steps = rng.int(6, 12);
      for (let k = 0; k < steps; k++) {
        angle += rng.normal(0, 0.25);
        const len = rng.range(0.03, 0.06);
        const nx = x + sgn * Math.cos(angle) * len;
        const ny = y + Math.sin(angle) * len * 1.1;
        canvas.segment(vessels, x, y, nx, ny, w, amp);
        x = nx;
        y = ny;
        w *= 0.88;
        amp *= 0.82;
      }
    }
  }
  // Fine parenchymal texture.
  const tex = valueNoise(rng, n, 24);
  for (let i = 0; i < N; i++) vessels[i] += 0.05 * (tex[i] - 0.5);

  return { canvas, tissue, air, bone, vessels, apex, dome: [domeR, domeL], lateral };
}
