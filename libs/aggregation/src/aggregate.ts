/**
 * The math of aggregation over lists of float32 tensors (one list per update,
 * tensors in the same order). Pure functions; the strategies call them.
 */
import { AggregationError } from './errors';
import { findNonFinite } from './finite';
import { WeightedSum } from './weighted-sum';

function checkInputs(inputs: readonly (readonly Float32Array[])[]): void {
  if (inputs.length === 0) throw new AggregationError('no_updates', 'Nothing to aggregate: no input');
  const first = inputs[0];
  for (let u = 1; u < inputs.length; u++) {
    const x = inputs[u];
    if (x.length !== first.length) throw new AggregationError('shape_mismatch', `Expected input ${u} to have ${first.length} tensors, but got ${x.length}`);
    for (let s = 0; s < x.length; s++) {
      if (x[s].length !== first[s].length) {
        throw new AggregationError('shape_mismatch', `Expected tensor ${s} of input ${u} to hold ${first[s].length} values, but got ${x[s].length}`);
      }
    }
  }
}

/** Σ wᵤ·xᵤ / Σ wᵤ (Flower's `aggregate`), in float64, reading each input once. */
export function weightedMean(inputs: readonly (readonly Float32Array[])[], weights: readonly number[]): Float32Array[] {
  checkInputs(inputs);
  if (weights.length !== inputs.length) throw new AggregationError('bad_update', `Expected ${inputs.length} weights, but got ${weights.length}`);
  const sum = new WeightedSum(
    inputs[0].map((t) => t.length),
    { group: Math.min(inputs.length, 64) },
  );
  for (let u = 0; u < inputs.length; u++) sum.add(inputs[u], weights[u]);
  return sum.mean();
}

function sortSmall(a: Float64Array, n: number): void {
  if (n > 32) {
    a.subarray(0, n).sort();
    return;
  }
  for (let i = 1; i < n; i++) {
    const x = a[i];
    let j = i - 1;
    while (j >= 0 && a[j] > x) {
      a[j + 1] = a[j];
      j--;
    }
    a[j + 1] = x;
  }
}

function notFinite(u: number, s: number, i: number, value: number): AggregationError {
  return new AggregationError('not_finite', `Expected every value to be finite, but input ${u} has ${value} at tensor ${s}[${i}]`);
}

/**
 * Applies `reduce` to the sorted values of every coordinate across the inputs.
 * A NaN or ±Inf value is refused as it is read (sorting it would make the result depend on the inputs' order).
 */
function coordinateWise(inputs: readonly (readonly Float32Array[])[], reduce: (sorted: Float64Array, n: number) => number): Float32Array[] {
  checkInputs(inputs);
  const n = inputs.length;
  const tmp = new Float64Array(n);
  return inputs[0].map((t, s) => {
    const out = new Float32Array(t.length);
    const cols = inputs.map((x) => x[s]);
    for (let i = 0; i < out.length; i++) {
      let check = 0;
      for (let u = 0; u < n; u++) {
        const x = cols[u][i];
        tmp[u] = x;
        check += x - x; // 0 unless some x is NaN or ±Inf
      }
      if (check !== 0) {
        const u = cols.findIndex((c) => !Number.isFinite(c[i]));
        throw notFinite(u, s, i, cols[u][i]);
      }
      sortSmall(tmp, n);
      out[i] = reduce(tmp, n);
    }
    return out;
  });
}

/** Coordinate-wise median (the mean of the two middle values for an even count), as numpy's. */
export function coordinateMedian(inputs: readonly (readonly Float32Array[])[]): Float32Array[] {
  return coordinateWise(inputs, (v, n) => (n % 2 === 1 ? v[(n - 1) >> 1] : (v[n / 2 - 1] + v[n / 2]) / 2));
}

/**
 * Coordinate-wise trimmed mean: drops the ⌊β·n⌋ smallest and largest values of
 * every coordinate and averages the rest (scipy's trim_mean, as Flower uses it).
 */
export function trimmedMean(inputs: readonly (readonly Float32Array[])[], beta: number): Float32Array[] {
  if (!(beta >= 0 && beta < 0.5)) throw new AggregationError('bad_config', `Expected beta in [0, 0.5), but got ${beta}`);
  const cut = Math.floor(beta * inputs.length);
  return coordinateWise(inputs, (v, n) => {
    let s = 0;
    for (let i = cut; i < n - cut; i++) s += v[i];
    return s / (n - 2 * cut);
  });
}

/** Squared L2 distances between every pair of inputs (all tensors flattened together). */
export function squaredDistances(inputs: readonly (readonly Float32Array[])[]): number[][] {
  checkInputs(inputs);
  const n = inputs.length;
  const d = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      let sq = 0;
      const xa = inputs[a];
      const xb = inputs[b];
      for (let s = 0; s < xa.length; s++) {
        const p = xa[s];
        const q = xb[s];
        for (let i = 0; i < p.length; i++) {
          const diff = p[i] - q[i];
          sq += diff * diff;
        }
      }
      if (!Number.isFinite(sq)) throw nonFiniteInput(inputs, [a, b]);
      d[a][b] = sq;
      d[b][a] = sq;
    }
  }
  return d;
}

/** The refusal of the first NaN or ±Inf value among these inputs (or of an overflow, when every value is finite). */
function nonFiniteInput(inputs: readonly (readonly Float32Array[])[], which: readonly number[]): AggregationError {
  for (const u of which) {
    const bad = findNonFinite(inputs[u]);
    if (bad) return notFinite(u, bad.tensor, bad.index, bad.value);
  }
  return new AggregationError('bad_update', `The squared distance between inputs ${which.join(' and ')} overflows float64`);
}

/** The refusal of Krum with too few updates for f: it needs n > 2f + 2. */
export function tooFewForKrum(n: number, byzantine: number, what = 'Krum'): string {
  return `${what} with byzantine f = ${byzantine} needs more than 2f + 2 = ${2 * byzantine + 2} updates, but got n = ${n}`;
}

/**
 * Krum scores (Blanchard et al. 2017): for each input, the sum of squared
 * distances to its n − f − 2 nearest other inputs. Lower is more central.
 * Refused (`too_few_updates`) unless n > 2f + 2, the condition of Krum's guarantee.
 */
export function krumScores(distances: readonly (readonly number[])[], byzantine: number): number[] {
  const n = distances.length;
  if (!(Number.isInteger(byzantine) && byzantine >= 0)) throw new AggregationError('bad_config', `Expected byzantine to be an integer ≥ 0, but got ${byzantine}`);
  if (n <= 2 * byzantine + 2) throw new AggregationError('too_few_updates', tooFewForKrum(n, byzantine));
  const closest = n - byzantine - 2;
  return distances.map((row, i) => {
    const others = row.filter((_, j) => j !== i).sort((a, b) => a - b);
    let s = 0;
    for (let k = 0; k < Math.min(closest, others.length); k++) s += others[k];
    return s;
  });
}

/** Indices of the `keep` lowest scores (ties broken by index), lowest first. */
export function lowestScores(scores: readonly number[], keep: number): number[] {
  return scores
    .map((s, i) => [s, i] as const)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1])
    .slice(0, keep)
    .map(([, i]) => i);
}

/**
 * Each input's share of a weighted average whose weights are `counts`, no
 * share above `cap` (water-filling): shares above the cap are cut to it and
 * the excess goes to the others in proportion to their counts, as often as
 * needed. The shares add up to 1. When n·cap ≤ 1 the cap cannot hold for
 * every input (n shares of at most `cap` cannot add up to 1): every input then
 * gets 1/n, the closest to the cap that still adds up to 1.
 */
export function cappedShares(counts: readonly number[], cap: number): number[] {
  if (!(cap > 0 && cap <= 1)) throw new AggregationError('bad_config', `Expected maxWeight in (0, 1], but got ${cap}`);
  const n = counts.length;
  if (n === 0) throw new AggregationError('no_updates', 'Nothing to weigh: no count');
  counts.forEach((c, i) => {
    if (!(Number.isFinite(c) && c > 0)) throw new AggregationError('bad_update', `Expected count ${i} to be a positive finite number, but got ${c}`);
  });
  if (n * cap <= 1) return counts.map(() => 1 / n);
  const order = counts.map((_, i) => i).sort((a, b) => counts[b] - counts[a]);
  // the largest are cut to the cap while their proportional share of what is left exceeds it
  let left = 1;
  let rest = counts.reduce((a, b) => a + b, 0);
  let k = 0;
  while (k < n && left > cap && (counts[order[k]] * left) / rest > cap) {
    left -= cap;
    rest -= counts[order[k]];
    k++;
  }
  const shares = counts.map((c) => (c * left) / rest);
  for (let j = 0; j < k; j++) shares[order[j]] = cap;
  return shares;
}

/**
 * The most inputs `cappedShares` can ever cut to `cap`, whatever the counts:
 * it cuts only while the share left exceeds the cap (fewer than 1/cap inputs),
 * and this takes the cap away in the same float64 steps.
 */
export function maxCut(cap: number): number {
  let left = 1;
  let k = 0;
  while (left > cap) {
    left -= cap;
    k++;
  }
  return k;
}
