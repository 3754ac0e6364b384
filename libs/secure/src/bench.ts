// What secure aggregation costs on this machine: one hospital's quantising and
// masking, the coordinator's unmasking with zero and one dropout, and bytes on
// the wire next to a plain float32 update. `fedxray bench aggregate --secure`
// prints this; tools/ can call it directly.
import { defaultGraph } from './graph';
import { runInMemory, type DropStage } from './harness';
import { seededRandom } from './random';
import { timed, type Timing } from './timing';
import { defaultThreshold, type SecAggRoundConfig } from './round-config';
import { packWeightedUpdate, weightedUpdateLayout } from './weighted';

/** DenseNet-121 with the study's head: values in one update. */
export const DENSENET121_VALUES = 7_566_404;

export interface SecureBenchOptions {
  /** Hospitals in the sum. @default 10 */
  hospitals?: number;
  /** Values in one update. @default DENSENET121_VALUES */
  values?: number;
  /** Seed of the synthetic updates. @default 1 */
  seed?: number;
}

export interface SecureBenchReport {
  hospitals: number;
  values: number;
  threshold: number;
  graph: string;
  /** One hospital: weight and quantise its float32 update. */
  quantise: Timing;
  /** One hospital: add its self mask and its pairwise masks (the median hospital, by CPU time). */
  mask: Timing;
  /** The coordinator's finish(): reconstruct secrets and remove masks. */
  unmask: { noDropout: Timing; oneDropout: Timing };
  /** Bytes on the wire for one hospital. */
  bytes: {
    /** A plain float32 update (the values alone). */
    plainFloat32: number;
    maskedInput: number;
    /** Keys, sealed shares, unmask request and answer, sent and received. */
    keysAndShares: number;
    /** maskedInput / plainFloat32. */
    ratio: number;
  };
  /** Whether both secure sums equalled the plain sums exactly (mod 2³²). */
  exact: boolean;
}

/** The median timing by CPU time (the lower middle one for an even count). */
function median(xs: Timing[]): Timing {
  const s = [...xs].sort((a, b) => a.cpuMs - b.cpuMs);
  return s[(s.length - 1) >> 1];
}

/** Synthetic update values: small, mostly of one sign per block, like a layer's weight change. */
function syntheticUpdate(values: number, seed: number): Float32Array {
  const words = new Uint32Array(values);
  seededRandom(`bench update ${seed}`).fillWords(words);
  const out = new Float32Array(values);
  for (let i = 0; i < values; i++) out[i] = (words[i] / 2 ** 32 - 0.5) * 2e-3;
  return out;
}

/** Runs the two secure sums (no dropout, one dropout after sharing) and reports their costs. */
export function benchSecureAggregation(options: SecureBenchOptions = {}): SecureBenchReport {
  const n = options.hospitals ?? 10;
  const values = options.values ?? DENSENET121_VALUES;
  const seed = options.seed ?? 1;
  const layout = weightedUpdateLayout({ length: values, range: 1, maxWeight: 100_000, maxSummands: Math.max(n, 2) });
  const participants = Array.from({ length: n }, (_, i) => i + 1);
  const graph = defaultGraph(n, `bench ${seed}`);
  const config = (session: string): SecAggRoundConfig => ({ session, participants, threshold: defaultThreshold(n, graph), graph, vectorLength: layout.length });

  // Hospital 1's real update is quantised (timed); the others' inputs are random words, which cost the same to mask.
  const update = syntheticUpdate(values, seed);
  const { value: packed, time: quantise } = timed(() => packWeightedUpdate(layout, update, 1234, seededRandom(`bench rounding ${seed}`)));
  const input = (session: string, expected: Uint32Array, dropped: ReadonlySet<number>) => (index: number) => {
    let x = packed;
    if (index !== 1) {
      x = new Uint32Array(layout.length);
      seededRandom(`bench input ${session} ${index}`).fillWords(x);
    }
    if (!dropped.has(index)) for (let i = 0; i < x.length; i++) expected[i] += x[i];
    return x;
  };

  const run = (session: string, drops: Map<number, DropStage>) => {
    const expected = new Uint32Array(layout.length);
    const r = runInMemory({ config: config(session), input: input(session, expected, new Set(drops.keys())), drops });
    const exact = r.result.sum.every((v, i) => v === expected[i]);
    return { r, exact };
  };
  const none = run('bench no dropout', new Map());
  const one = run('bench one dropout', new Map([[n, 'mask']]));
  const b = none.r.bytes.get(1)!;
  const plainFloat32 = values * 4;
  return {
    hospitals: n,
    values,
    threshold: defaultThreshold(n, graph),
    graph: graph.kind === 'full' ? 'full' : `sparse, degree ${graph.degree}`,
    quantise,
    mask: median([...none.r.maskTime.values(), ...one.r.maskTime.values()]),
    unmask: { noDropout: none.r.unmaskTime, oneDropout: one.r.unmaskTime },
    bytes: { plainFloat32, maskedInput: b.maskedInput, keysAndShares: b.sent + b.received - b.maskedInput, ratio: b.maskedInput / plainFloat32 },
    exact: none.exact && one.exact,
  };
}
