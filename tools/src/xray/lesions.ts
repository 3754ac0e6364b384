/**
 * Class patterns, modelled loosely on their radiology. Each returns a map of
 * how much of the lung's air is replaced (0 = aerated, 1 = solid) at every
 * pixel; the renderer applies it only where there is lung. Severity varies
 * per image and is sometimes subtle, so the classes overlap.
 */
import { valueNoise } from './canvas';
import type { Chest } from './anatomy';
import type { XrayClass } from './classes';
import type { Rng } from './random';

/** Severity in [lo, 1], skewed so that a share of cases is subtle. */
function severity(rng: Rng, lo = 0.3): number {
  return lo + (1 - lo) * rng.next() ** 0.7;
}

function sideOf(rng: Rng, rightBias: number): number {
  return rng.chance(rightBias) ? -1 : 1;
}

/** Lobar consolidation: a dense, patchy, roughly lobe-shaped opacity, usually one lower zone. */
function consolidation(rng: Rng, chest: Chest, out: Float32Array, sgn: number, zoneY: number, strength: number): void {
  const { canvas } = chest;
  const cx = sgn * rng.range(0.35, 0.65);
  const cy = zoneY;
  const spreadX = rng.range(0.1, 0.2);
  const spreadY = rng.range(0.07, 0.13);
  const blobs = rng.int(10, 22);
  for (let b = 0; b < blobs; b++) {
    canvas.blob(
      out,
      cx + rng.normal(0, spreadX),
      cy + rng.normal(0, spreadY),
      rng.range(0.04, 0.1),
      rng.range(0.04, 0.09),
      (strength * rng.range(0.25, 0.5) * 12) / blobs,
      rng.range(0, Math.PI),
    );
  }
  // Air bronchograms: darker branching lines inside the opacity.
  if (strength > 0.4 && rng.chance(0.5)) {
    for (let k = 0; k < rng.int(1, 3); k++) {
      const a = rng.range(0, Math.PI);
      const len = rng.range(0.06, 0.14);
      canvas.segment(out, cx, cy, cx + sgn * Math.cos(a) * len, cy + Math.sin(a) * len, 0.008, -0.25 * strength);
    }
  }
}

function pneumonia(rng: Rng, chest: Chest, out: Float32Array): void {
  const sev = severity(rng);
  const sgn = sideOf(rng, 0.6);
  const zone = rng.next();
  const dome = chest.dome[sgn < 0 ? 0 : 1];
  const zoneY = zone < 0.65 ? dome - rng.range(0.1, 0.22) : zone < 0.9 ? rng.range(0.4, 0.55) : chest.apex + rng.range(0.12, 0.25);
  consolidation(rng, chest, out, sgn, zoneY, sev * rng.range(0.55, 0.95));
  if (rng.chance(0.2)) {
    consolidation(rng, chest, out, -sgn, chest.dome[sgn < 0 ? 1 : 0] - rng.range(0.1, 0.25), sev * rng.range(0.25, 0.55));
  }
}

/** Ground-glass: faint, hazy, textured opacity. */
function groundGlass(rng: Rng, chest: Chest, out: Float32Array, sgn: number, strength: number): void {
  const { canvas } = chest;
  const patches = rng.int(3, 7);
  const dome = chest.dome[sgn < 0 ? 0 : 1];
  for (let p = 0; p < patches; p++) {
    const px = rng.range(0.5, chest.lateral - 0.05);
    const py = rng.chance(0.8) ? rng.range(0.42, dome - 0.04) : rng.range(chest.apex + 0.15, 0.45);
    canvas.blob(out, sgn * px, py, rng.range(0.07, 0.15), rng.range(0.07, 0.14), strength * rng.range(0.5, 1), rng.range(0, Math.PI));
  }
}

function covid19(rng: Rng, chest: Chest, out: Float32Array): void {
  const sev = severity(rng);
  const bilateral = rng.chance(0.85);
  const first = sideOf(rng, 0.5);
  groundGlass(rng, chest, out, first, sev * rng.range(0.26, 0.45));
  if (bilateral) groundGlass(rng, chest, out, -first, sev * rng.range(0.2, 0.45));
  // Crazy-paving-like texture: modulate the haze by fine noise.
  const n = chest.canvas.n;
  const tex = valueNoise(rng, n, 20);
  for (let i = 0; i < out.length; i++) out[i] *= 0.65 + 0.7 * tex[i];
  // Some cases progress to patchy consolidation.
  if (rng.chance(0.2)) {
    const sgn = sideOf(rng, 0.5);
    consolidation(rng, chest, out, sgn, chest.dome[sgn < 0 ? 0 : 1] - rng.range(0.08, 0.18), sev * rng.range(0.25, 0.5));
  }
}

function tuberculosis(rng: Rng, chest: Chest, out: Float32Array): void {
  const { canvas } = chest;
  const sev = severity(rng);
  const sides = rng.chance(0.4) ? [-1, 1] : [sideOf(rng, 0.55)];
  for (const sgn of sides) {
    const cx = sgn * rng.range(0.28, 0.55);
    const cy = chest.apex + rng.range(0.08, 0.22);
    // Clustered nodules.
    const nodules = rng.int(3, 12);
    for (let k = 0; k < nodules; k++) {
      const r = rng.range(0.014, 0.035);
      canvas.blob(out, cx + rng.normal(0, 0.1), cy + rng.normal(0, 0.07), r, r * rng.range(0.8, 1.2), sev * rng.range(0.6, 1.2));
    }
    // Cavity: a thick-walled ring with air inside.
    if (rng.chance(0.35)) {
      const x = cx + rng.normal(0, 0.05);
      const y = cy + rng.normal(0, 0.04);
      const r = rng.range(0.04, 0.065);
      canvas.blob(out, x, y, r, r, sev * 0.9);
      canvas.blob(out, x, y, r * 0.5, r * 0.5, -sev * 0.9);
    }
    // Fibrotic streaks from the hilum towards the apex.
    if (rng.chance(0.5)) {
      for (let k = 0; k < rng.int(2, 4); k++) {
        canvas.segment(out, sgn * rng.range(0.2, 0.3), rng.range(0.35, 0.42), cx + rng.normal(0, 0.1), cy + rng.normal(0, 0.06), 0.009, sev * 0.5);
      }
    }
    // Upper-zone infiltrate.
    if (rng.chance(0.5)) canvas.blob(out, cx, cy, rng.range(0.08, 0.14), rng.range(0.06, 0.1), sev * rng.range(0.15, 0.35));
  }
}

/** Findings any image may carry (a calcified granuloma, a nipple shadow): not a class signal. */
function incidental(rng: Rng, chest: Chest, out: Float32Array): void {
  const { canvas } = chest;
  if (rng.chance(0.1)) {
    const r = rng.range(0.01, 0.02);
    canvas.blob(out, rng.pick([-1, 1]) * rng.range(0.25, 0.75), rng.range(0.15, 0.7), r, r, rng.range(0.5, 1));
  }
  if (rng.chance(0.15)) {
    for (const sgn of [-1, 1]) canvas.blob(out, sgn * rng.range(0.5, 0.65), chest.dome[0] - rng.range(0.02, 0.1), 0.025, 0.025, 0.25);
  }
}

export function drawLesions(className: XrayClass, rng: Rng, chest: Chest): Float32Array {
  const out = chest.canvas.layer();
  if (className === 'pneumonia') pneumonia(rng, chest, out);
  else if (className === 'covid19') covid19(rng, chest, out);
  else if (className === 'tuberculosis') tuberculosis(rng, chest, out);
  incidental(rng, chest, out);
  return out;
}
