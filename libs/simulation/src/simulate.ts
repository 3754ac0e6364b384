import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Coordinator, RunStore, localLossOf, type CoordinatorConfigInput, type CoordinatorEvents, type RunResult } from '@fedxray/coordinator';
import { Hospital, calibrateHeadAt, hospitalProcessCommand, type DataSource } from '@fedxray/hospital';
import { spawn, type ChildProcess } from 'node:child_process';
import { DEFAULT_SPLIT_RATIOS, partition, recordSplit, scanDataset, splitDataset, trainingImages, type DataItem, type Splits } from '@fedxray/data';
import type { LocalLoss, NamedWeights } from '@fedxray/protocol';
import { armSettings, openTrainer, testScore, trainEpochs, type ArmSettings, type ArmStart } from './local-training';
import { personalMarkdown, scorePerHospital, type PersonalTable } from './personal';
import { recordSplitInModel } from './record-split';
import { SimulationOptionsSchema, type SimulationOptions, type SimulationOptionsInput } from './options';

export interface SimulationResult {
  runDir: string;
  result: RunResult;
  summary: Record<string, unknown>;
  hospitals: { name: string; examples: { train: number; val: number; test: number }; classCounts: Record<string, number> }[];
  baseline?: BaselineResult;
  /** Per hospital: the global model, fine-tuned, trained alone, on the hospital's test split. */
  personalised?: PersonalTable;
  /** Peak resident memory of this process (coordinator and in-process hospitals), MB. */
  peakRssMB: number;
}

/** A job that failed at an in-process hospital (hospitals in their own processes report to the coordinator only). */
export interface HospitalFailure {
  hospital: string;
  /** Absent for failures outside a job (e.g. a message the hospital could not read). */
  phase?: 'fit' | 'calibrate' | 'evaluate';
  round?: number;
  error: string;
}

export interface SimulationEvents extends CoordinatorEvents {
  /** The split, and the loss the coordinator resolved for its hospitals (its default when none was asked for). */
  plan: [{ hospitals: SimulationResult['hospitals']; classes: string[]; url: string; localLoss: LocalLoss; strategy: Record<string, unknown> }];
  hospitalFailed: [HospitalFailure];
  baseline: [{ phase: 'start' | 'epoch' | 'done'; epoch?: number; epochs?: number; accuracy?: number; loss?: number }];
}

/** The centralized arm: the same model trained on the pooled training data, and how it was trained. */
export interface BaselineResult {
  accuracy: number;
  loss: number;
  epochs: number;
  /** The arm's settings; `headCalibration`: its last layer was recalibrated on its own training images' class statistics after its last epoch, because the federation's last round's was. */
  settings: ArmSettings & { headCalibration: boolean };
}

/** Training images whose class statistics recalibrate the baseline's last layer, per hospital it stands for (the coordinator's headCalibration.maxExamples default). */
const BASELINE_HEAD_EXAMPLES = 512;

interface Site {
  name: string;
  source: DataSource;
  images: { train: number; test: number };
}

/** The session reports a failed job as "<phase> failed in round <n>: <error>". */
const JOB_FAILURE = /^(fit|calibrate|evaluate) failed in round (\d+): ([\s\S]*)$/;

function hospitalFailure(hospital: string, err: Error): HospitalFailure {
  const m = JOB_FAILURE.exec(err.message);
  return m ? { hospital, phase: m[1] as HospitalFailure['phase'], round: Number(m[2]), error: m[3] } : { hospital, error: err.message };
}

function countBy(items: DataItem[], classes: string[]): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(classes.map((c) => [c, 0]));
  for (const it of items) out[classes[it.label]]++;
  return out;
}

interface Plan {
  sites: Site[];
  classes: string[];
  pooled: { train: DataItem[]; test: DataItem[] };
  /** Each data set's split (one per hospital folder, or the one pooled data set), and whether any came pre-split in folders. */
  splits: Splits[];
  presplit: boolean;
}

async function planSites(o: SimulationOptions): Promise<Plan> {
  if (o.hospitalData) {
    const sets = await Promise.all(o.hospitalData.map((d) => scanDataset(resolve(d))));
    const classes = [...new Set(sets.flatMap((s) => s.classes))].sort();
    const sites: Site[] = [];
    const pooled = { train: [] as DataItem[], test: [] as DataItem[] };
    const splits: Splits[] = [];
    sets.forEach((ds, i) => {
      const split = splitDataset(ds, { seed: o.seed });
      splits.push(split);
      const remap = (items: DataItem[]) => items.map((it) => ({ ...it, label: classes.indexOf(it.className) }));
      pooled.train.push(...remap(split.train));
      pooled.test.push(...remap(split.test));
      sites.push({ name: `hospital-${i + 1}`, source: { dir: resolve(o.hospitalData![i]), splitSeed: o.seed }, images: { train: split.train.length, test: split.test.length } });
    });
    return { sites, classes, pooled, splits, presplit: sets.some((ds) => ds.presplit) };
  }
  const ds = await scanDataset(resolve(o.data!));
  if (ds.items.length === 0) throw new Error(`No readable images in ${o.data} (expected one folder per class)`);
  const split = splitDataset(ds, { seed: o.seed });
  const tagged = [
    ...split.train.map((it) => ({ ...it, split: 'train' as const })),
    ...split.val.map((it) => ({ ...it, split: 'val' as const })),
    ...split.test.map((it) => ({ ...it, split: 'test' as const })),
  ];
  const parts = partition(tagged, o.hospitals, o.partition, o.seed);
  const sites = parts.map((items, i) => {
    const source = {
      classes: ds.classes,
      train: items.filter((it) => it.split === 'train'),
      val: items.filter((it) => it.split === 'val'),
      test: items.filter((it) => it.split === 'test'),
    };
    return { name: `hospital-${i + 1}`, source, images: { train: source.train.length, test: source.test.length } };
  });
  return { sites, classes: ds.classes, pooled: { train: split.train, test: split.test }, splits: [split], presplit: Boolean(ds.presplit) };
}

/**
 * A whole federation on one machine: a coordinator and N hospitals talking
 * over real socket.io on loopback, each hospital training on its own share of
 * the data (in its own worker thread by default).
 */
export class Simulation extends EventEmitter<SimulationEvents> {
  constructor(readonly options: SimulationOptions) {
    super();
  }

  static parse(input: SimulationOptionsInput): SimulationOptions {
    const r = SimulationOptionsSchema.safeParse(input);
    if (!r.success) throw new Error(`Invalid simulation options: ${r.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ')}`);
    return r.data;
  }

  async run(): Promise<SimulationResult> {
    const o = this.options;
    const out = resolve(o.out);
    mkdirSync(out, { recursive: true });
    const { sites, classes, pooled, splits, presplit } = await planSites(o);
    const split = recordSplit(splits, { seed: o.seed, ratios: DEFAULT_SPLIT_RATIOS, presplit });
    const tokens = Object.fromEntries(sites.map((s) => [s.name, `sim_${randomBytes(24).toString('base64url')}`]));
    const model = { ...o.model, classes };
    const coordinator = await Coordinator.start({
      dataDir: join(out, 'store'),
      runDir: out,
      host: '127.0.0.1',
      port: o.port,
      rounds: o.rounds,
      minAvailable: sites.length,
      minFit: Math.max(1, Math.ceil(o.fractionFit * sites.length)),
      fractionFit: o.fractionFit,
      waitTimeoutMs: 10 * 60_000,
      maxFailures: Math.max(0, sites.length - 1),
      evaluateEvery: o.evaluateEvery,
      crossSiteEvaluation: o.crossSiteEvaluation,
      fit: {
        localEpochs: o.localEpochs,
        batchSize: o.batchSize,
        learningRate: o.learningRate,
        maxExamplesPerEpoch: o.maxExamplesPerEpoch,
        weightsDtype: 'float32',
        ...(o.localLoss ? { localLoss: o.localLoss } : {}),
      },
      strategy: o.strategy,
      headCalibration: o.headCalibration === 'off' ? { enabled: false } : { enabled: true, rounds: o.headCalibration },
      model,
      weights: o.weights,
      trainable: o.trainable,
      schedule: o.schedule,
      seed: o.seed,
      staticTokens: tokens,
      dashboardDir: o.dashboardDir,
      // Checked by the coordinator, which refuses a bad field with its path.
      ...(o.secureAggregation ? { secureAggregation: o.secureAggregation as CoordinatorConfigInput['secureAggregation'] } : {}),
      ...(o.dp ? { dp: o.dp as CoordinatorConfigInput['dp'] } : {}),
    });
    // what the hospitals train with: the coordinator's resolved loss (its default when none was asked for)
    const localLoss = localLossOf(coordinator.config);
    const featureCache = resolve(o.featureCacheDir ?? join(out, 'feature-cache'));
    // The comparison arms (baseline, alone, fine-tuned) start where the federation started: its
    // round-0 global model and resolved model (channels, normalisation) when weights or frozen
    // layers were asked for; seeded random weights otherwise, as the federation's own.
    const fromFederation = Boolean((o.weights && o.weights !== 'random') || o.trainable || o.schedule);
    const armModel = fromFederation ? { ...(coordinator.state().run.config.model as Record<string, unknown>), classes } : model;
    const startWeights = fromFederation ? coordinator.globalWeights() : null;
    const trainerOptions = (site: Site) => ({ backend: o.backend, augment: o.augment, balance: o.balance, maxRepeat: o.maxRepeat, seed: o.seed, threads: 0, cacheDir: join(featureCache, site.name) });
    const forward = (name: keyof CoordinatorEvents) => coordinator.on(name, (...args: any[]) => (this.emit as any)(name, ...args));
    for (const e of ['listening', 'hospital', 'roundStart', 'progress', 'fitResult', 'updateRefused', 'jobFailed', 'roundEnd', 'roundFailed', 'runEnd', 'state'] as const) forward(e);
    // The coordinator was already listening before these listeners were attached.
    this.emit('listening', { url: coordinator.url });
    const hospitals: Hospital[] = [];
    const children: ChildProcess[] = [];
    let result: RunResult;
    let finalWeights: NamedWeights | undefined;
    const plan: SimulationResult['hospitals'] = [];
    try {
      for (const site of o.processes ? [] : sites) {
        const h = await Hospital.start({
          coordinator: coordinator.url,
          token: tokens[site.name],
          worker: o.workers,
          trainer: { ...trainerOptions(site), data: site.source },
          // a seeded simulation repeats itself with secure aggregation too
          roundingSeed: `${o.seed}/${site.name}`,
        });
        h.on('error', (err) => this.emit('hospitalFailed', hospitalFailure(site.name, err)));
        hospitals.push(h);
        const f = h.trainer.facts();
        const counts = 'train' in site.source ? countBy(site.source.train, classes) : {};
        plan.push({ name: site.name, examples: f.examples, classCounts: counts });
      }
      if (o.processes) {
        const { execPath, args } = hospitalProcessCommand();
        for (const site of sites) {
          const config = {
            coordinator: coordinator.url,
            token: tokens[site.name],
            worker: false,
            trainer: { ...trainerOptions(site), data: site.source },
            roundingSeed: `${o.seed}/${site.name}`,
          };
          const file = join(out, 'store', `${site.name}.json`);
          writeFileSync(file, JSON.stringify(config));
          children.push(spawn(execPath, args, { env: { ...process.env, FEDXRAY_HOSPITAL_CONFIG: file }, stdio: ['ignore', 'ignore', 'inherit'] }));
          const train = 'train' in site.source ? site.source.train.length : 0;
          const val = 'val' in site.source ? site.source.val.length : 0;
          const test = 'test' in site.source ? site.source.test.length : 0;
          plan.push({ name: site.name, examples: { train, val, test }, classCounts: 'train' in site.source ? countBy(site.source.train, classes) : {} });
        }
      }
      this.emit('plan', { hospitals: plan, classes, url: coordinator.url, localLoss, strategy: coordinator.config.strategy });
      result = await coordinator.done;
      if (result.status === 'complete' && o.personalTable) finalWeights = coordinator.globalWeights();
    } finally {
      for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
      await Promise.all(hospitals.map((h) => h.close().catch(() => undefined)));
      await coordinator.close();
    }
    let baseline: BaselineResult | undefined;
    let personalised: PersonalTable | undefined;
    if (result.status === 'complete') {
      const trained = new Map(result.rounds.map((r) => [r.round, r.fit.trainable]));
      const start: ArmStart = { weights: startWeights, trainableIn: (round) => trained.get(round) ?? undefined };
      // same rules: the baseline's last layer is recalibrated when the federation's last round's was
      const headCalibrated = (result.rounds.at(-1)?.fit.headCalibratedBy?.length ?? 0) > 0;
      if (o.baseline) baseline = await this.runBaseline(classes, pooled, armModel, start, join(featureCache, 'pooled'), headCalibrated);
      if (finalWeights) personalised = await scorePerHospital(o, sites, finalWeights, armModel, classes, start, (name) => join(featureCache, name));
    }
    if (result.modelDir) recordSplitInModel(result.modelDir, split, trainingImages(splits));
    const summaryPath = join(out, 'summary.json');
    const summary = JSON.parse(readFileSync(summaryPath, 'utf8'));
    summary.split = split;
    summary.hospitals = plan;
    summary.peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
    summary.partition = o.hospitalData ? 'per-hospital folders' : o.partition;
    summary.federationSettings = federationSettings(o, armModel, localLoss, coordinator.config.strategy);
    if (baseline) summary.baseline = baseline;
    if (personalised) {
      summary.personalised = personalised;
      // report.md exists only when the last round was evaluated.
      const report = join(out, 'report.md');
      if (existsSync(report)) appendFileSync(report, `\n${personalMarkdown(personalised)}`);
    }
    writeFileSync(summaryPath, JSON.stringify(summary, null, 2));
    if (personalised) recordSummary(join(out, 'store'), result.runId, summary);
    return { runDir: out, result, summary, hospitals: plan, baseline, personalised, peakRssMB: summary.peakRssMB };
  }

  /**
   * The same model trained centrally on the pooled training data: as many epochs as each
   * hospital trained (rounds × local epochs), the same batch size, learning rate, augmentation,
   * balancing rule and repeat bound, seed and per-epoch example cap (× hospitals), scored on
   * the pooled test split, which is the union of the hospitals' test splits.
   */
  private async runBaseline(classes: string[], pooled: { train: DataItem[]; test: DataItem[] }, model: Record<string, unknown>, start: ArmStart, cacheDir: string, headCalibration: boolean): Promise<BaselineResult> {
    const o = this.options;
    const source: DataSource = { classes, train: pooled.train, val: [], test: pooled.test };
    const settings = { ...armSettings(o, model, o.rounds * o.localEpochs, { train: pooled.train.length, test: pooled.test.length }, o.maxExamplesPerEpoch * o.hospitals, start), headCalibration };
    const epochs = settings.epochs;
    this.emit('baseline', { phase: 'start', epochs });
    const trainer = await openTrainer(o, source, model, classes, cacheDir);
    try {
      let weights = await trainEpochs(trainer, start.weights, settings, (epoch, m) => this.emit('baseline', { phase: 'epoch', epoch, epochs, loss: m.loss, accuracy: m.accuracy }));
      // Same rules: the federation's last layer is recalibrated on its hospitals' statistics, so the baseline's is on its own.
      if (settings.headCalibration && weights) {
        weights = await calibrateHeadAt(trainer, weights, BASELINE_HEAD_EXAMPLES * o.hospitals, { seed: o.seed * 1000 + o.rounds, output: model.output === 'sigmoid' ? 'sigmoid' : 'softmax' });
      }
      const m = await testScore(trainer, weights);
      this.emit('baseline', { phase: 'done', accuracy: m.accuracy, loss: m.loss });
      return { ...m, epochs, settings };
    } finally {
      await trainer.close();
    }
  }
}

/** The federation's side of the comparison, in the same terms as a baseline's settings. */
/** What the federation ran with: the coordinator's resolved strategy and loss (its defaults filled in), the rest as asked. */
function federationSettings(o: SimulationOptions, model: Record<string, unknown>, localLoss: LocalLoss, strategy: Record<string, unknown>) {
  return {
    rounds: o.rounds,
    localEpochs: o.localEpochs,
    hospitals: o.hospitals,
    strategy,
    batchSize: o.batchSize,
    learningRate: o.learningRate ?? null,
    maxExamplesPerEpoch: o.maxExamplesPerEpoch,
    augment: o.augment,
    balance: o.balance,
    maxRepeat: o.maxRepeat,
    localLoss,
    headCalibration: o.headCalibration,
    seed: o.seed,
    model,
  };
}

/** The finished run's summary in its store too, so the dashboard shows the per-hospital table of a stored run. */
function recordSummary(storeDir: string, runId: string, summary: Record<string, unknown>): void {
  const store = new RunStore(storeDir);
  try {
    store.setRunStatus(runId, 'complete', { summary });
  } finally {
    store.close();
  }
}
