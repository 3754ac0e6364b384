// Who shares secrets with whom. SecAgg (Bonawitz et al. 2017) uses the full
// graph; SecAgg+ (Bell et al. 2020) a sparse k-regular one: the Harary graph
// H(k, n) over a random ordering of the participants, drawn from a seed.
import type { SecAggGraph } from '@fedxray/protocol';
import { SecureError } from './errors';
import { seededRandom, type RandomSource } from './random';

/** At most this many participants share with everyone by default; above it, SecAgg+'s sparse graph. */
export const FULL_GRAPH_MAX_PARTICIPANTS = 16;

/** A uniform integer in [0, bound) by rejection sampling. */
function uniformInt(bound: number, random: RandomSource, word: Uint32Array): number {
  const limit = Math.floor(2 ** 32 / bound) * bound;
  for (;;) {
    random.fillWords(word);
    if (word[0] < limit) return word[0] % bound;
  }
}

/** A uniformly random ordering of `items` (Fisher–Yates), reproducible from the seed. */
function shuffled(items: readonly number[], seed: string): number[] {
  const out = [...items];
  const random = seededRandom(`secagg graph\0${seed}`);
  const word = new Uint32Array(1);
  for (let i = out.length - 1; i > 0; i--) {
    const j = uniformInt(i + 1, random, word);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * The default graph for n participants: the full graph up to
 * FULL_GRAPH_MAX_PARTICIPANTS, else a sparse one of even degree ≥ 3·log₂ n
 * (O(log n), as SecAgg+ prescribes; Bell et al. derive the exact degree for a
 * given dropout rate and security level, which a caller may pass instead).
 */
export function defaultGraph(n: number, seed: string): SecAggGraph {
  const degree = 2 * Math.ceil((3 * Math.log2(Math.max(n, 2))) / 2);
  if (n <= FULL_GRAPH_MAX_PARTICIPANTS || degree >= n - 1) return { kind: 'full' };
  return { kind: 'sparse', degree, seed };
}

/** Checks a graph against the participants; throws bad_config with the reason. */
function checkGraph(graph: SecAggGraph, n: number): void {
  if (graph.kind === 'full') return;
  if (graph.degree % 2 !== 0 || graph.degree < 2 || graph.degree >= n - 1) {
    throw new SecureError('bad_config', `Expected an even sparse-graph degree in 2..${n - 2} for ${n} participants (or the full graph), got ${graph.degree}`);
  }
}

/** Each participant's neighbours (sorted, without itself). */
export function neighbourMap(participants: readonly number[], graph: SecAggGraph): Map<number, number[]> {
  checkGraph(graph, participants.length);
  const out = new Map<number, number[]>();
  if (graph.kind === 'full') {
    for (const u of participants) out.set(u, participants.filter((v) => v !== u));
    return out;
  }
  const ring = shuffled(
    [...participants].sort((a, b) => a - b),
    graph.seed,
  );
  const n = ring.length;
  const half = graph.degree / 2;
  for (let i = 0; i < n; i++) {
    const near: number[] = [];
    for (let d = 1; d <= half; d++) near.push(ring[(i + d) % n], ring[(i - d + n) % n]);
    out.set(
      ring[i],
      near.sort((a, b) => a - b),
    );
  }
  return out;
}
