import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { relativePath, scanDataset } from '@fedxray/data';
import { writeFileAtomic } from '@fedxray/runtime';
import { Simulation } from '../simulate';
import type { SimulationOptions, SimulationOptionsInput } from '../options';
import { mainEffects, snLargerIsBetter } from './analysis';
import { FACTOR_NAMES, TuneConfigError, parseTuneDesign, type TuneDesign, type TuneDesignInput } from './config';
import { DESIGNS } from './l9';
import { renderTuneMarkdown } from './report';
import type { DataFingerprint, TrialOutcome, TrialPlan, TrialRecord, TrialSettings, TuneAnalysis, TuneFile } from './records';

export interface TrialContext {
  /** Absolute run directory of this trial (empty when the trial starts). */
  dir: string;
  /** The trial's simulation options: the shared settings with this trial's factor levels. */
  options: SimulationOptions;
  tuner: Tuner;
}

/** Runs one trial. The default runs a federation through `Simulation`; tests inject a fake. */
export type TrialRunner = (plan: TrialPlan, ctx: TrialContext) => Promise<TrialOutcome>;

export interface TuneOptions {
  /** Where tune.json, tune.md and trial-1 … trial-9 go; rerunning with the same out resumes. */
  out: string;
  design?: TuneDesignInput;
  /** Shared settings of every trial (data, hospitals, partition, rounds, arch …). `out` is set per trial. */
  simulation: Omit<SimulationOptionsInput, 'out'>;
  /** The study's single-site setting: one hospital holding all the data (iid), i.e. FedAvg over one client. */
  centralized?: boolean;
  runTrial?: TrialRunner;
  /** Run only the first n trials (for tests); the analysis needs every trial. */
  limit?: number;
  /** Identifies the images the trials train on; default: a hash of every file's class, path and content. */
  fingerprintData?: (options: SimulationOptions) => Promise<DataFingerprint>;
}

/** The images of the data set(s) a simulation trains on, as one hash: a regenerated or edited data set gets another. */
export async function fingerprintData(o: Pick<SimulationOptions, 'data' | 'hospitalData'>): Promise<DataFingerprint> {
  const dirs = o.hospitalData ?? (o.data ? [o.data] : []);
  const lines: string[] = [];
  for (const [i, dir] of dirs.entries()) {
    const ds = await scanDataset(resolve(dir));
    for (const it of ds.items) lines.push(`${i}\t${it.className}\t${relativePath(ds, it.path)}\t${it.hash}`);
  }
  lines.sort();
  return { images: lines.length, sha256: createHash('sha256').update(lines.join('\n')).digest('hex') };
}

export interface TuneResult extends TuneFile {
  out: string;
  /** Trials found finished in tune.json and not run again. */
  skipped: number[];
}

export interface TuneEvents {
  plan: [{ trials: TrialPlan[]; skipped: number[]; settings: Record<string, unknown> }];
  trialStart: [{ plan: TrialPlan; of: number }];
  trialEnd: [TrialRecord];
  /** The federation of a trial, before it runs: attach progress listeners here. */
  simulation: [{ plan: TrialPlan; simulation: Simulation }];
}

/** Settings that change how a run is watched or where it goes, not what it computes. */
const NOT_COMPARED = new Set(['out', 'workers', 'processes', 'port', 'dashboardDir', 'baseline', 'crossSiteEvaluation']);

export class TuneResumeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TuneResumeError';
  }
}

function canonical(x: unknown): string {
  return JSON.stringify(x, (_k, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]])) : v));
}

/** The runs of a design: row i of the array with each level index replaced by the factor's value. */
export function planTrials(design: TuneDesign): TrialPlan[] {
  const f = design.factors;
  return DESIGNS[design.design].map((row, i) => ({
    trial: i + 1,
    levels: [...row],
    settings: { optimizer: f.optimizer[row[0]], learningRate: f.learningRate[row[1]], dropout: f.dropout[row[2]], activation: f.activation[row[3]] },
  }));
}

/** The four factors applied to a model spec; other head/optimizer fields (e.g. head units) are kept. */
export function applySettings(model: Record<string, unknown>, s: TrialSettings): Record<string, unknown> {
  const head = (model.head && typeof model.head === 'object' ? model.head : {}) as Record<string, unknown>;
  const optimizer = (model.optimizer && typeof model.optimizer === 'object' ? model.optimizer : {}) as Record<string, unknown>;
  return { ...model, head: { ...head, activation: s.activation, dropout: s.dropout }, optimizer: { ...optimizer, name: s.optimizer, learningRate: s.learningRate } };
}

export function analyse(design: TuneDesign, trials: readonly TrialRecord[]): TuneAnalysis {
  const f = design.factors;
  const factors = FACTOR_NAMES.map((name) => ({ name, values: f[name] as readonly (string | number)[] }));
  const responses = trials.map((t) => ({ levels: t.levels, responses: [t.testAccuracy as number] }));
  const effects = mainEffects(factors, responses);
  const best = Object.fromEntries(effects.map((e) => [e.factor, e.best.value])) as unknown as TrialSettings;
  const bestLevels = effects.map((e) => e.best.level);
  const sns = responses.map((r) => snLargerIsBetter(r.responses));
  const meanSn = sns.reduce((a, b) => a + b, 0) / sns.length;
  const meanY = trials.reduce((a, t) => a + (t.testAccuracy as number), 0) / trials.length;
  const predictedSn = meanSn + effects.reduce((a, e) => a + (e.best.sn - meanSn), 0);
  const predictedY = meanY + effects.reduce((a, e) => a + (e.best.mean - meanY), 0);
  const hit = trials.find((t) => t.levels.every((l, i) => l === bestLevels[i]));
  const bestTrial = trials.reduce((b, t) => ((t.testAccuracy as number) > (b.testAccuracy as number) ? t : b)).trial;
  return {
    effects,
    recommended: best,
    recommendedTrial: hit ? hit.trial : null,
    predicted: { sn: predictedSn, testAccuracy: predictedY },
    bestTrial,
    meanSn,
    meanTestAccuracy: meanY,
  };
}

/**
 * A Taguchi orthogonal-array experiment in which every trial is a federated
 * run: same data, partition, hospitals, rounds and seed, only the four factors
 * change. Trials are recorded in tune.json as they finish (atomically), so a
 * killed tune rerun with the same `out` picks up where it stopped.
 */
export class Tuner extends EventEmitter<TuneEvents> {
  readonly out: string;
  readonly design: TuneDesign;
  readonly base: SimulationOptions;
  readonly centralized: boolean;
  private readonly runTrial: TrialRunner;

  constructor(readonly options: TuneOptions) {
    super();
    this.out = resolve(options.out);
    this.design = parseTuneDesign(options.design ?? {});
    this.centralized = !!options.centralized;
    const sim = { ...options.simulation } as SimulationOptionsInput;
    if (sim.learningRate !== undefined) throw new TuneConfigError('The learning rate is a factor of the design: give its levels in the design, not simulation.learningRate');
    if (this.centralized) {
      if (sim.hospitalData) throw new TuneConfigError('centralized needs one data set (data), not one folder per hospital (hospitalData)');
      sim.hospitals = 1;
      sim.partition = 'iid';
    }
    this.base = Simulation.parse({
      ...sim,
      data: sim.data === undefined ? undefined : resolve(sim.data),
      hospitalData: sim.hospitalData?.map((d) => resolve(d)),
      out: join(this.out, 'trial-0'),
    });
    if (options.limit !== undefined && !(Number.isInteger(options.limit) && options.limit > 0)) throw new TuneConfigError(`Expected limit to be a positive integer, but got ${options.limit}`);
    this.runTrial = options.runTrial ?? simulationTrialRunner;
  }

  /** The shared settings a resumed tune must match. */
  settings(): Record<string, unknown> {
    return Object.fromEntries(Object.entries(this.base).filter(([k, v]) => !NOT_COMPARED.has(k) && v !== undefined));
  }

  get file(): string {
    return join(this.out, 'tune.json');
  }

  /** Trials recorded as finished by an earlier run with the same out, after checking it ran the same experiment. */
  private resume(data: DataFingerprint): TrialRecord[] {
    if (!existsSync(this.file)) return [];
    let prev: TuneFile;
    try {
      prev = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch (err) {
      throw new TuneResumeError(`Cannot resume from ${this.file}: ${err instanceof Error ? err.message : err}. Use another out directory, or delete the file to start over.`);
    }
    if (prev?.format !== 'fedxray-tune/1' || !Array.isArray(prev.trials)) throw new TuneResumeError(`${this.file} is not a tune record (format fedxray-tune/1). Use another out directory.`);
    const mine = { design: this.design.design, factors: this.design.factors, centralized: this.centralized, ...this.settings() };
    const theirs = { design: prev.design, factors: prev.factors, centralized: prev.centralized, ...prev.settings };
    const keys = [...new Set([...Object.keys(mine), ...Object.keys(theirs)])].sort();
    const diffs = keys.filter((k) => canonical((mine as any)[k]) !== canonical((theirs as any)[k]));
    if (diffs.length) {
      const show = (v: unknown) => (v === undefined ? '(unset)' : canonical(v));
      throw new TuneResumeError(
        `${this.file} records a different tune, so it cannot be resumed: ${diffs.map((k) => `${k} was ${show((theirs as any)[k])}, now ${show((mine as any)[k])}`).join('; ')}. ` +
          'Rerun with the same settings to resume, or use another out directory.',
      );
    }
    const finished = prev.trials.filter((t) => t.status === 'complete');
    if (finished.length && prev.dataFingerprint?.sha256 !== data.sha256) {
      throw new TuneResumeError(
        `The data set changed since the finished trials in ${this.file} ran (${prev.dataFingerprint?.images ?? '?'} images, sha256 ${String(prev.dataFingerprint?.sha256).slice(0, 12)}…; now ${data.images} images, sha256 ${data.sha256.slice(0, 12)}…), ` +
          'so their results cannot be compared with new trials. Use another out directory, or delete the file to start over.',
      );
    }
    return finished;
  }

  private write(trials: TrialRecord[], total: number, data: DataFingerprint): TuneFile {
    const sorted = [...trials].sort((a, b) => a.trial - b.trial);
    const complete = sorted.length === total && sorted.every((t) => t.status === 'complete');
    const file: TuneFile = {
      format: 'fedxray-tune/1',
      design: this.design.design,
      factors: this.design.factors,
      centralized: this.centralized,
      dataFingerprint: data,
      settings: this.settings(),
      trials: sorted,
      complete,
      analysis: complete ? analyse(this.design, sorted) : null,
      updatedAt: new Date().toISOString(),
    };
    writeFileAtomic(this.file, `${JSON.stringify(file, null, 2)}\n`);
    writeFileAtomic(join(this.out, 'tune.md'), renderTuneMarkdown(file));
    return file;
  }

  async run(): Promise<TuneResult> {
    mkdirSync(this.out, { recursive: true });
    const all = planTrials(this.design);
    const data = await (this.options.fingerprintData ?? fingerprintData)(this.base);
    const finished = this.resume(data);
    const done = new Map(finished.filter((t) => t.trial <= all.length).map((t) => [t.trial, t]));
    const skipped = [...done.keys()].sort((a, b) => a - b);
    const todo = all.filter((p) => !done.has(p.trial)).slice(0, this.options.limit ?? all.length);
    this.emit('plan', { trials: all, skipped, settings: this.settings() });
    const records = new Map(done);
    let file = this.write([...records.values()], all.length, data);
    for (const plan of todo) {
      const dir = join(this.out, `trial-${plan.trial}`);
      rmSync(dir, { recursive: true, force: true }); // a trial killed half-way starts again from nothing
      const options: SimulationOptions = { ...this.base, out: dir, model: applySettings(this.base.model, plan.settings) };
      this.emit('trialStart', { plan, of: all.length });
      const started = Date.now();
      let outcome: TrialOutcome;
      try {
        outcome = await this.runTrial(plan, { dir, options, tuner: this });
      } catch (err) {
        outcome = { status: 'failed', trainAccuracy: null, trainLoss: null, testAccuracy: null, testLoss: null, error: err instanceof Error ? err.message : String(err) };
      }
      if (outcome.status === 'complete' && !(Number.isFinite(outcome.testAccuracy) && Number.isFinite(outcome.trainAccuracy))) {
        outcome = { ...outcome, status: 'failed', error: outcome.error ?? 'the trial finished without train and test accuracy' };
      }
      const record: TrialRecord = { ...plan, ...outcome, runDir: `trial-${plan.trial}`, durationMs: Date.now() - started, finishedAt: new Date().toISOString() };
      records.set(plan.trial, record);
      file = this.write([...records.values()], all.length, data);
      this.emit('trialEnd', record);
    }
    return { ...file, out: this.out, skipped };
  }
}

/** The real trial: one federated run through `Simulation`. */
export const simulationTrialRunner: TrialRunner = async (plan, ctx) => {
  const simulation = new Simulation(ctx.options);
  ctx.tuner.emit('simulation', { plan, simulation });
  const { result } = await simulation.run();
  const last = result.rounds[result.rounds.length - 1];
  return {
    status: result.status === 'complete' ? 'complete' : 'failed',
    trainAccuracy: last?.fit.accuracy ?? null,
    trainLoss: last?.fit.loss ?? null,
    testAccuracy: result.final?.accuracy ?? null,
    testLoss: result.final?.loss ?? null,
    ...(result.status === 'complete' ? {} : { error: result.error ?? result.status }),
  };
};
