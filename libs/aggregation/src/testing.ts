// Helpers for this lib's tests: seeded data and float64 references.
import assert from 'node:assert/strict';
import type { NamedWeights } from '@fedxray/protocol';
import { mulberry32 } from '@fedxray/runtime';
import type { ClientUpdate, Strategy } from './strategy';

/** Deterministic uniform numbers in [-1, 1) (mulberry32). */
export function rng(seed: number): () => number {
  const unit = mulberry32(seed);
  return () => 2 * unit() - 1;
}

export const SHAPES: Record<string, number[]> = {
  'conv1/conv/kernel': [3, 3, 2, 4],
  'conv1/bn/gamma': [4],
  'conv1/bn/beta': [4],
  'conv1/bn/moving_mean': [4],
  'conv1/bn/moving_variance': [4],
  'dense/kernel': [4, 9000],
  'dense/bias': [9000],
  'scalar': [],
};

/** A small model with an odd-sized tensor (not a multiple of 4) and one larger than a kernel chunk. */
export function model(seed: number, offset = 0, scale = 1): NamedWeights {
  const r = rng(seed);
  return Object.entries(SHAPES).map(([name, shape]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return { name, shape, values: Float32Array.from({ length: n }, () => offset + scale * r()) };
  });
}

/** Example-weighted mean in plain float64, tensor by tensor. */
export function referenceMean(updates: { examples: number; weights: NamedWeights }[]): number[][] {
  return updates[0].weights.map((t, s) => {
    const out: number[] = [];
    let total = 0;
    for (const u of updates) total += u.examples;
    for (let i = 0; i < t.values.length; i++) {
      let acc = 0;
      for (const u of updates) acc += u.examples * u.weights[s].values[i];
      out.push(acc / total);
    }
    return out;
  });
}

/** Asserts |got − want| ≤ tol·max(1, |want|) everywhere, naming the first bad value. */
export function assertClose(got: NamedWeights, want: number[][], tol = 1e-6, names?: string[]): void {
  assert.equal(got.length, want.length);
  for (let s = 0; s < got.length; s++) {
    if (names && !names.includes(got[s].name)) continue;
    const g = got[s].values;
    assert.equal(g.length, want[s].length, `${got[s].name} length`);
    for (let i = 0; i < g.length; i++) {
      const w = want[s][i];
      if (!(Math.abs(g[i] - w) <= tol * Math.max(1, Math.abs(w)))) {
        assert.fail(`${got[s].name}[${i}] = ${g[i]}, expected ${w} (tolerance ${tol})`);
      }
    }
  }
}

export function toNumbers(w: NamedWeights): number[][] {
  return w.map((t) => Array.from(t.values));
}

/** Accumulates an update as the coordinator does: its values written into intake()'s arrays when the strategy offers them. */
export function feed(s: Strategy, u: ClientUpdate): void {
  const into = s.intake();
  const weights: NamedWeights = into
    ? u.weights.map((t) => {
        const slot = into.get(t.name);
        if (!slot) return t;
        slot.set(t.values);
        return { ...t, values: slot };
      })
    : u.weights;
  s.accumulate({ ...u, weights });
}
