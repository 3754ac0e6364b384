import { DataError } from './errors';
import { dirichlet, mixSeed, mulberry32, shuffleInPlace } from './rng';
import type { Rng } from './rng';
import type { DataItem } from './scan';

export type PartitionSpec =
  | { kind: 'iid' }
  | { kind: 'dirichlet'; alpha: number }
  | { kind: 'pathological'; classesPerHospital: number }
  | { kind: 'quantity'; beta: number }
  | { kind: 'quantity'; weights: number[] };

export const PARTITION_FORMS = ['iid', 'dirichlet:<alpha > 0>', 'pathological:<classes per hospital ≥ 1>', 'quantity:<beta > 0>', 'quantity:<w1,w2,…> (one weight per hospital)'];

function refuse(spec: string, why: string): never {
  throw new DataError(`Expected a partition spec of the form ${PARTITION_FORMS.join(' | ')}, but got "${spec}" (${why})`);
}

/** Parses `iid`, `dirichlet:0.5`, `pathological:2`, `quantity:1.0` or `quantity:3,1,1`. */
export function parsePartitionSpec(spec: string): PartitionSpec {
  const s = spec.trim();
  const [kind, arg, ...rest] = s.split(':');
  if (rest.length > 0) refuse(spec, 'too many ":"');
  const positive = (v: string | undefined, what: string): number => {
    const n = Number(v);
    if (v === undefined || v.trim() === '' || !Number.isFinite(n) || n <= 0) refuse(spec, `${what} must be a positive number`);
    return n;
  };
  switch (kind.toLowerCase()) {
    case 'iid':
      if (arg !== undefined) refuse(spec, 'iid takes no parameter');
      return { kind: 'iid' };
    case 'dirichlet':
      return { kind: 'dirichlet', alpha: positive(arg, 'alpha') };
    case 'pathological': {
      const k = positive(arg, 'classes per hospital');
      if (!Number.isInteger(k)) refuse(spec, 'classes per hospital must be an integer');
      return { kind: 'pathological', classesPerHospital: k };
    }
    case 'quantity':
      if (arg !== undefined && arg.includes(',')) return { kind: 'quantity', weights: arg.split(',').map((w) => positive(w, 'each weight')) };
      return { kind: 'quantity', beta: positive(arg, 'beta') };
    default:
      return refuse(spec, `unknown kind "${kind}"`);
  }
}

/** Splits n items into parts proportional to `p` (largest remainder), summing to n. */
function apportion(n: number, p: number[]): number[] {
  const raw = p.map((x) => x * n);
  const out = raw.map(Math.floor);
  let left = n - out.reduce((a, b) => a + b, 0);
  const order = raw.map((r, i) => [r - Math.floor(r), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) out[order[k][1]]++;
  return out;
}

function cut<T>(xs: T[], sizes: number[]): T[][] {
  const out: T[][] = [];
  let o = 0;
  for (const s of sizes) {
    out.push(xs.slice(o, o + s));
    o += s;
  }
  return out;
}

function byLabel(items: DataItem[]): DataItem[][] {
  const k = Math.max(0, ...items.map((i) => i.label + 1));
  const out: DataItem[][] = Array.from({ length: k }, () => []);
  for (const it of items) out[it.label].push(it);
  return out;
}

function dirichletPartition(items: DataItem[], hospitals: number, alpha: number, rng: Rng): DataItem[][] {
  const classes = byLabel(items).map((c) => shuffleInPlace([...c], rng));
  const minSize = Math.min(1, Math.floor(items.length / hospitals));
  // Redraw (as the usual non-IID benchmarks do) until every hospital holds at least one image.
  for (let attempt = 0; attempt < 1000; attempt++) {
    const parts: DataItem[][] = Array.from({ length: hospitals }, () => []);
    for (const members of classes) {
      const sizes = apportion(members.length, dirichlet(alpha, hospitals, rng));
      cut(members, sizes).forEach((chunk, h) => parts[h].push(...chunk));
    }
    if (parts.every((p) => p.length >= minSize)) return parts;
  }
  throw new DataError(`Could not give each of ${hospitals} hospitals an image with dirichlet:${alpha} in 1000 draws; use a larger alpha or fewer hospitals`);
}

function pathological(items: DataItem[], hospitals: number, k: number, rng: Rng): DataItem[][] {
  const classes = byLabel(items);
  const present = classes.map((c, i) => (c.length > 0 ? i : -1)).filter((i) => i >= 0);
  if (k > present.length) throw new DataError(`Expected pathological:k with k ≤ ${present.length} (the classes present), but got ${k}`);
  // Hospital h holds k consecutive classes of a seeded ring, so the classes are spread evenly.
  const ring = shuffleInPlace([...present], rng);
  const holders = new Map<number, number[]>();
  for (let h = 0; h < hospitals; h++) {
    for (let j = 0; j < k; j++) {
      const c = ring[(h * k + j) % ring.length];
      if (!holders.get(c)) holders.set(c, []);
      if (!holders.get(c)!.includes(h)) holders.get(c)!.push(h);
    }
  }
  const parts: DataItem[][] = Array.from({ length: hospitals }, () => []);
  for (const c of present) {
    const hs = holders.get(c);
    if (!hs) continue; // more classes than hospitals × k: this class stays unused
    const members = shuffleInPlace([...classes[c]], rng);
    cut(members, apportion(members.length, hs.map(() => 1 / hs.length))).forEach((chunk, i) => parts[hs[i]].push(...chunk));
  }
  return parts;
}

/**
 * Deals items to `hospitals` simulated hospitals, seeded:
 * - `iid`: a shuffle cut into equal parts;
 * - `dirichlet:α`: per class, proportions ~ Dirichlet(α) (small α: strong label skew);
 * - `pathological:k`: each hospital holds only k classes;
 * - `quantity:β` / `quantity:w1,…`: sizes ~ Dirichlet(β) or as given, labels IID.
 * Every item goes to exactly one hospital (except pathological with more classes than
 * hospitals × k). Each part is returned shuffled.
 */
export function partition(items: DataItem[], hospitals: number, spec: string | PartitionSpec, seed: number): DataItem[][] {
  if (!Number.isInteger(hospitals) || hospitals < 1) throw new DataError(`Expected hospitals to be a positive integer, but got ${hospitals}`);
  if (items.length < hospitals) throw new DataError(`Expected at least one image per hospital, but got ${items.length} images for ${hospitals} hospitals`);
  const p = typeof spec === 'string' ? parsePartitionSpec(spec) : spec;
  const rng = mulberry32(mixSeed(seed, 0x9a47));
  const sorted = [...items].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  let parts: DataItem[][];
  if (p.kind === 'iid') {
    const xs = shuffleInPlace(sorted, rng);
    parts = cut(xs, apportion(xs.length, Array(hospitals).fill(1 / hospitals)));
  } else if (p.kind === 'dirichlet') parts = dirichletPartition(sorted, hospitals, p.alpha, rng);
  else if (p.kind === 'pathological') parts = pathological(sorted, hospitals, p.classesPerHospital, rng);
  else {
    let weights: number[];
    if ('weights' in p) {
      if (p.weights.length !== hospitals) throw new DataError(`Expected ${hospitals} quantity weights (one per hospital), but got ${p.weights.length}`);
      const s = p.weights.reduce((a, b) => a + b, 0);
      weights = p.weights.map((w) => w / s);
    } else weights = dirichlet(p.beta, hospitals, rng);
    const xs = shuffleInPlace(sorted, rng);
    const sizes = apportion(xs.length, weights);
    // At least one image each: a hospital left empty takes one from the largest.
    for (let h = 0; h < hospitals; h++) {
      if (sizes[h] > 0) continue;
      sizes[sizes.indexOf(Math.max(...sizes))]--;
      sizes[h] = 1;
    }
    parts = cut(xs, sizes);
  }
  return parts.map((part) => shuffleInPlace(part, rng));
}

/** Items per class per hospital: rows are hospitals, columns labels. */
export function labelCounts(parts: DataItem[][], numClasses: number): number[][] {
  return parts.map((part) => {
    const row = Array<number>(numClasses).fill(0);
    for (const it of part) row[it.label]++;
    return row;
  });
}
