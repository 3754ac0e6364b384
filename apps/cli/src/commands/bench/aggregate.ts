import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Command, Option } from 'commander';
import { STRATEGY_NAMES, createStrategy, parseStrategyConfig, strategyInfo, wasmKernelsAvailable } from '@fedxray/aggregation';
import { parseIntOption, UsageError } from '../../usage';
import { secureFigures, secureLines } from './secure-figures';

/** Untimed rounds first: the kernels compile, memory is laid out, and the coordinator's steady state (a result of two rounds before to recycle) is reached. */
const WARM_UP = 2;

interface Tensor {
  name: string;
  shape: number[];
}

/**
 * The weight tensors of Keras DenseNet121 (no top) followed by the study's head
 * (GlobalAveragePooling → Dense 512 → BatchNormalization → Dense 4): 612 tensors,
 * 7,566,404 values, in Keras order and naming.
 */
export function densenet121HeadManifest(): Tensor[] {
  const out: Tensor[] = [];
  const bn = (prefix: string, c: number) => {
    for (const w of ['gamma', 'beta', 'moving_mean', 'moving_variance']) out.push({ name: `${prefix}/${w}`, shape: [c] });
  };
  out.push({ name: 'conv1/conv/kernel', shape: [7, 7, 3, 64] });
  bn('conv1/bn', 64);
  let c = 64;
  [6, 12, 24, 16].forEach((layers, b) => {
    for (let l = 1; l <= layers; l++) {
      const p = `conv${b + 2}_block${l}`;
      bn(`${p}_0_bn`, c);
      out.push({ name: `${p}_1_conv/kernel`, shape: [1, 1, c, 128] });
      bn(`${p}_1_bn`, 128);
      out.push({ name: `${p}_2_conv/kernel`, shape: [3, 3, 128, 32] });
      c += 32;
    }
    if (b < 3) {
      bn(`pool${b + 2}_bn`, c);
      out.push({ name: `pool${b + 2}_conv/kernel`, shape: [1, 1, c, c / 2] });
      c /= 2;
    }
  });
  bn('bn', c);
  out.push({ name: 'dense/kernel', shape: [c, 512] }, { name: 'dense/bias', shape: [512] });
  bn('batch_normalization', 512);
  out.push({ name: 'dense_1/kernel', shape: [512, 4] }, { name: 'dense_1/bias', shape: [4] });
  return out;
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Fills arrays with small values (xorshift32), fast enough for tens of millions. */
function fillRandom(a: Float32Array, seed: number): void {
  let x = seed | 1;
  for (let i = 0; i < a.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    a[i] = (x | 0) * (0.1 / 2 ** 31);
  }
}

function stats(ms: number[]): { best: number; median: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { best: s[0], median: s[s.length >> 1] };
}

/**
 * Memory bandwidth of this process, best of all samples taken: `readGBps` from
 * comparing two equal 128 MiB buffers (memcmp reads both, writes nothing),
 * `copyGBps` from copying 256 MiB into another array, counting bytes read plus
 * written (STREAM's "copy"). Sampled before the rounds and again before each
 * round, so that the reference sees the same machine as the rounds do.
 */
class MemoryBandwidth {
  private readonly n = 64 * 1024 * 1024;
  private readonly src = new Float32Array(this.n);
  private readonly dst = new Float32Array(this.n).fill(1);
  private readonly a: Buffer;
  private readonly b: Buffer;
  private read = Infinity;
  private copy = Infinity;
  samples = 0;

  constructor() {
    fillRandom(this.src, 3);
    this.a = Buffer.from(this.src.buffer, 0, this.n * 2);
    this.b = Buffer.from(this.src.buffer, this.n * 2, this.n * 2);
    this.b.set(this.a);
  }

  sample(): void {
    let t = performance.now();
    this.dst.set(this.src);
    this.copy = Math.min(this.copy, performance.now() - t);
    t = performance.now();
    if (!this.a.equals(this.b)) throw new Error('bandwidth buffers differ');
    this.read = Math.min(this.read, performance.now() - t);
    this.samples++;
  }

  get readGBps(): number {
    return (this.n * 4) / 1e9 / (this.read / 1e3);
  }

  get copyGBps(): number {
    return (2 * this.n * 4) / 1e9 / (this.copy / 1e3);
  }
}

// Flower's `aggregate` (flwr/server/strategy/aggregate.py), unchanged, timed on
// float32 arrays of the same shapes and example counts; and, apart, the same
// arrays first decoded from bytes by Flower's `bytes_to_ndarray` (flwr/common/parameter.py).
const NUMPY_SCRIPT = String.raw`
import json, sys, time
from io import BytesIO
from functools import reduce
import numpy as np

def aggregate(results):
    num_examples_total = sum(num_examples for (_, num_examples) in results)
    weighted_weights = [[layer * num_examples for layer in weights] for weights, num_examples in results]
    weights_prime = [reduce(np.add, layer_updates) / num_examples_total for layer_updates in zip(*weighted_weights)]
    return weights_prime

cfg = json.load(sys.stdin)
rng = np.random.default_rng(0)
results = [([(rng.random(s, dtype=np.float32) - 0.5) * 0.2 for s in cfg["sizes"]], e) for e in cfg["examples"]]

def ndarray_to_bytes(a):
    b = BytesIO()
    np.save(b, a, allow_pickle=False)
    return b.getvalue()

def bytes_to_ndarray(t):
    return np.load(BytesIO(t), allow_pickle=False)

wire = [([ndarray_to_bytes(a) for a in w], e) for w, e in results]
aggregate(results)
times, cpu, totals = [], [], []
for _ in range(cfg["repeats"]):
    c = time.process_time()
    t = time.perf_counter()
    out = aggregate(results)
    times.append((time.perf_counter() - t) * 1000)
    cpu.append((time.process_time() - c) * 1000)
    del out
    t = time.perf_counter()
    decoded = [([bytes_to_ndarray(b) for b in w], e) for w, e in wire]
    out = aggregate(decoded)
    totals.append((time.perf_counter() - t) * 1000)
    del out, decoded
times.sort()
print(json.dumps({"ms": times[0], "medianMs": times[len(times) // 2], "cpuMs": min(cpu), "totalMs": min(totals), "numpy": np.__version__, "python": sys.version.split()[0], "dtype": str(results[0][0][0].dtype)}))
`;

interface NumpyResult {
  ms: number;
  /** bytes_to_ndarray of every tensor of every update, then aggregate(). */
  totalMs: number;
  medianMs: number;
  cpuMs: number;
  numpy: string;
  python: string;
}

function runNumpy(sizes: number[], examples: number[], repeats: number): NumpyResult | { error: string } {
  const python = process.env.PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
  const r = spawnSync(python, ['-c', NUMPY_SCRIPT], { input: JSON.stringify({ sizes, examples, repeats }), encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.error) return { error: `${python} could not run: ${r.error.message}` };
  if (r.status !== 0) {
    const msg = r.stderr.includes("No module named 'numpy'") ? `numpy is not installed for ${python} (Debian: apt-get install -y python3-numpy)` : r.stderr.trim().split('\n').slice(-1)[0];
    return { error: msg };
  }
  return JSON.parse(r.stdout.trim().split('\n').slice(-1)[0]) as NumpyResult;
}

interface Options {
  hospitals: number;
  strategy: string;
  group?: number;
  repeats: number;
  compareNumpy?: boolean;
  recycle: boolean;
  json?: boolean;
  secure?: boolean;
}

/** `fedxray bench aggregate`: one round of aggregation over DenseNet121-sized updates. */
export function benchAggregateCommand(): Command {
  return new Command('aggregate')
    .description(
      'Time one aggregation round (begin, one accumulate per hospital, finish) over DenseNet121-sized updates ' +
        "(612 tensors, 7,566,404 values) and this machine's memory bandwidth, sampled before and between the rounds; best of --repeats",
    )
    .option('--hospitals <n>', 'updates per round', parseIntOption('--hospitals', 1), 10)
    .addOption(new Option('--strategy <name>', 'strategy to time').choices([...STRATEGY_NAMES]).default('fedavg'))
    .option(
      '--group <k>',
      'streaming strategies: updates folded per pass over the accumulator, up to k held (default: the config default, 16)',
      parseIntOption('--group', 1),
    )
    .option('--repeats <n>', 'timed rounds (after two untimed warm-up rounds)', parseIntOption('--repeats', 1), 7)
    .option('--no-recycle', 'give the strategy no earlier result to write into: time fresh output arrays every round (the coordinator recycles the global of two rounds ago)')
    .option('--compare-numpy', "also time Flower's numpy aggregate() on the same shapes (python3 with numpy) and report the speed-up")
    .option('--json', 'print one JSON object')
    .option('--secure', 'also time secure aggregation of the same updates: a hospital masking, the coordinator unmasking (no dropout, one dropout), bytes per hospital')
    .action(async (o: Options) => {
      if (o.group !== undefined && o.group > 64) throw new UsageError(`Expected --group ≤ 64, but got ${o.group}`);
      if (o.group !== undefined && !('groupUpdates' in strategyInfo(o.strategy).defaults)) throw new UsageError(`--group applies to streaming strategies, not ${o.strategy}`);
      const { decodeWeights, encodeWeights } = await import('@fedxray/protocol');
      const manifest = densenet121HeadManifest();
      const sizes = manifest.map((t) => size(t.shape));
      const values = sizes.reduce((a, b) => a + b, 0);
      const examples = Array.from({ length: o.hospitals }, (_, h) => 100 + 17 * h);
      const makeWeights = (seed: number) =>
        manifest.map((t, i) => {
          const v = new Float32Array(sizes[i]);
          fillRandom(v, seed * 7919 + i + 1);
          return { name: t.name, shape: t.shape, values: v };
        });
      const global = makeWeights(0);
      // Each update as a hospital sends it (one packed buffer with its manifest
      // and checksum); the coordinator decodes it, then hands it to the strategy.
      const payloads = examples.map((_, h) => encodeWeights(makeWeights(h + 1)));
      const bandwidth = new MemoryBandwidth();
      for (let i = 0; i < 5; i++) bandwidth.sample();
      const config = parseStrategyConfig(o.group !== undefined ? { name: o.strategy, groupUpdates: o.group } : { name: o.strategy });
      const strategy = createStrategy(config);
      const ms: number[] = [];
      const cpuMs: number[] = [];
      const decodeMs: number[] = [];
      const faults: number[] = [];
      let retained = 0;
      // as the coordinator does: the result of two rounds ago takes the new one
      type Weights = ReturnType<typeof makeWeights>;
      let previous: Weights | undefined;
      let last: Weights | undefined;
      let recycledRounds = 0;
      for (let r = 0; r < WARM_UP + o.repeats; r++) {
        let wall = 0;
        let decode = 0;
        let cpu = 0;
        let faulted = 0;
        const timed = <T>(f: () => T): T => {
          const c = process.cpuUsage();
          const pf = process.resourceUsage().minorPageFault;
          const t = performance.now();
          const out = f();
          wall += performance.now() - t;
          faulted += process.resourceUsage().minorPageFault - pf;
          const used = process.cpuUsage(c);
          cpu += (used.user + used.system) / 1000;
          return out;
        };
        bandwidth.sample();
        timed(() => strategy.begin(r + 1, global));
        for (let h = 0; h < payloads.length; h++) {
          // decoding, timed apart: straight into the strategy's memory when it
          // offers it (intake() may fold a full group first: aggregation's time)
          const into = timed(() => strategy.intake());
          const t = performance.now();
          const weights = decodeWeights(payloads[h], into ? (name) => into.get(name) : undefined);
          decode += performance.now() - t;
          timed(() => strategy.accumulate({ hospitalId: `hospital-${h + 1}`, examples: examples[h], weights }));
          retained = Math.max(retained, strategy.retainedBytes());
        }
        const result = timed(() => strategy.finish({ recycle: o.recycle ? previous : undefined }));
        previous = last;
        last = result.weights as Weights;
        if (r >= WARM_UP) {
          if (result.recycled) recycledRounds++;
          ms.push(wall);
          cpuMs.push(cpu);
          decodeMs.push(decode);
          faults.push(faulted);
        }
      }
      strategy.dispose();
      const ours = stats(ms);
      const pageFaults = Math.round(faults.reduce((a, b) => a + b, 0) / faults.length);
      const updateBytes = o.hospitals * values * 4;
      const gbPerSecond = updateBytes / 1e9 / (ours.best / 1e3);
      const result: Record<string, unknown> = {
        strategy: config.name,
        streaming: strategy.streaming,
        groupUpdates: 'groupUpdates' in config ? config.groupUpdates : null,
        backend: strategy.streaming && wasmKernelsAvailable() ? 'wasm-simd' : 'js',
        hospitals: o.hospitals,
        tensors: manifest.length,
        values,
        ms: ours.best,
        medianMs: ours.median,
        decodeMs: stats(decodeMs).best,
        totalMs: stats(ms.map((m, i) => m + decodeMs[i])).best,
        cpuMs: stats(cpuMs).best,
        gbPerSecond,
        cpuGbPerSecond: updateBytes / 1e9 / (stats(cpuMs).best / 1e3),
        memoryBandwidthGBps: bandwidth.readGBps,
        memoryCopyGBps: bandwidth.copyGBps,
        bandwidthSamples: bandwidth.samples,
        pageFaults,
        bandwidthRatio: bandwidth.readGBps / gbPerSecond,
        retainedBytes: retained,
        recycledRounds,
        modelBytes: values * 4,
        repeats: o.repeats,
        loadAverage: (await import('node:os')).loadavg().map((x) => Math.round(x * 100) / 100),
      };
      if (o.compareNumpy) {
        const numpy = runNumpy(sizes, examples, o.repeats);
        result.numpy = numpy;
        if ('ms' in numpy) {
          result.speedupVsNumpy = numpy.ms / ours.best;
          result.totalSpeedupVsNumpy = numpy.totalMs / (result.totalMs as number);
          result.cpuSpeedupVsNumpy = numpy.cpuMs / (result.cpuMs as number);
        }
      }
      const secure = o.secure ? await secureFigures(o.hospitals) : null;
      if (secure) result.secure = secure;
      if (o.json) {
        process.stdout.write(`${JSON.stringify(result)}\n`);
        return;
      }
      const lines = [
        `${config.name} over ${o.hospitals} updates of ${manifest.length} tensors (${values.toLocaleString('en-US')} values), ${result.backend}` +
          (result.groupUpdates ? `, ${result.groupUpdates} per pass` : ''),
        `  ${ours.best.toFixed(1)} ms best, ${ours.median.toFixed(1)} ms median of ${o.repeats}, ${(result.cpuMs as number).toFixed(1)} ms CPU: ${gbPerSecond.toFixed(2)} GB/s of updates`,
        `  memory read bandwidth ${bandwidth.readGBps.toFixed(1)} GB/s (copy ${bandwidth.copyGBps.toFixed(1)} GB/s read + write): ${(bandwidth.readGBps / gbPerSecond).toFixed(2)}× the rate updates were consumed`,
        `  decoding the ${o.hospitals} updates (checksum, copy${strategy.streaming ? ' into the strategy\'s memory' : ''}): ${(result.decodeMs as number).toFixed(1)} ms best; decode + aggregate ${(result.totalMs as number).toFixed(1)} ms`,
        `  results written into the arrays of two rounds before in ${recycledRounds} of ${o.repeats} timed rounds` +
          (o.recycle ? '' : ' (--no-recycle)') +
          `; ${pageFaults} page faults a round (mean)`,
        `  strategy held at most ${(retained / 1e6).toFixed(1)} MB (model ${((values * 4) / 1e6).toFixed(1)} MB)`,
      ];
      const numpy = result.numpy as NumpyResult | { error: string } | undefined;
      if (numpy && 'ms' in numpy) {
        lines.push(
          `  Flower aggregate() in numpy ${numpy.numpy}: ${numpy.ms.toFixed(1)} ms best, ${numpy.medianMs.toFixed(1)} ms median, ${numpy.cpuMs.toFixed(1)} ms CPU: ` +
            `${(numpy.ms / ours.best).toFixed(2)}× the time (CPU ${(numpy.cpuMs / (result.cpuMs as number)).toFixed(2)}×)`,
          `  Flower bytes_to_ndarray() + aggregate(): ${numpy.totalMs.toFixed(1)} ms best: ${(numpy.totalMs / (result.totalMs as number)).toFixed(2)}× the time of decode + aggregate`,
        );
      } else if (numpy) {
        lines.push(`  numpy comparison unavailable: ${numpy.error}`);
      }
      if (secure) lines.push(...secureLines(secure, ours.best));
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
