// A round whose updates are summed instead of sent one by one: with secure
// aggregation (SecAgg/SecAgg+: the coordinator learns only the sum) and/or
// client-level differential privacy (hospitals clip; noise on the sum). The
// strategy then sees one update, the mean, and acts on it as on a plain mean.
import { SumFitResultSchema, encodeWeights, type FitResult, type NamedWeights, type SumFit, type SumFitResult } from '@fedxray/protocol';
import { SecAggServer, SecureError, cryptoRandom, defaultGraph, defaultThreshold, fitSumLayout, l2Norm, unpackFitSum, type SumLayout } from '@fedxray/secure';
import { fitInstructions, fitRecord, type AcceptedUpdate, type FitPhase } from './fit-phase';
import { maxFitExamples, wireError } from './intake';
import type { Connection, JobOutcome, JobSpec, Verdict } from './jobs';
import { PrivacyAccount, type PrivacySummary } from './privacy-account';
import { samplingRate } from './privacy-config';
import { exchangeKeys, unmask, type StageDrop } from './secure-stages';
import type { FitRecord, SiteRoundMetrics } from './state';

/** The name the summed update goes into the strategy under. */
export const SUM_ID = 'secure-sum';

/** What a summed fit phase gives the round engine. */
export interface SummedFitOutcome {
  fit: FitRecord;
  /** Always empty: no hospital's own numbers are known. */
  fitSites: Record<string, SiteRoundMetrics>;
}

/** How the words of one round are summed: by the SecAgg server, or (DP on a trusted coordinator) in the clear. */
interface Summer {
  take(index: number, input: unknown): void;
}

class ClearSum implements Summer {
  readonly sum: Uint32Array;
  readonly from = new Set<number>();
  constructor(
    private readonly session: string,
    length: number,
  ) {
    this.sum = new Uint32Array(length);
  }
  take(index: number, input: SumFitResult['input']): void {
    if (input.session !== this.session || input.from !== index) throw new SecureError('bad_message', `Expected session "${this.session}" from participant ${index}, got "${input.session}" from ${input.from}`);
    if (this.from.has(index)) throw new SecureError('duplicate', `Participant ${index} already sent its input`);
    if (input.masked.byteLength !== this.sum.length * 4) throw new SecureError('wrong_length', `Expected ${this.sum.length * 4} bytes, got ${input.masked.byteLength}`);
    const words = new Uint32Array(input.masked.slice().buffer);
    for (let i = 0; i < words.length; i++) this.sum[i] += words[i];
    this.from.add(index);
  }
}

function parseSumFitResult(raw: unknown): Verdict<SumFitResult> {
  const r = SumFitResultSchema.safeParse(raw);
  if (r.success) return { ok: true, value: r.data };
  const plain = raw && typeof raw === 'object' && 'weights' in raw;
  return { ok: false, error: { code: 'bad_message', message: plain ? 'This round is summed (secure aggregation or DP): a plain update with weights is refused' : `Bad summed fitResult: ${r.error.issues[0]?.message}` } };
}

export class SummedFit {
  readonly secure: boolean;
  readonly privacy: PrivacyAccount | null;

  constructor(
    private readonly p: Omit<FitPhase, 'global'>,
    completedRounds: number,
  ) {
    const cfg = p.config;
    this.secure = cfg.secureAggregation.enabled;
    this.privacy = cfg.dp ? new PrivacyAccount(cfg.dp, this.secure, samplingRate(cfg.fractionFit), completedRounds) : null;
  }

  /** summary.json's `privacy`. */
  summary(): PrivacySummary {
    return this.privacy ? this.privacy.summary(this.secure) : { secureAggregation: this.secure, dp: null };
  }

  /** The fit phase of one attempt: set-up, training, the sum, the mean into the strategy. */
  async run(global: NamedWeights, chosen: Connection[], round: number, attempt: number, settled: (name: string, o: JobOutcome<AcceptedUpdate>) => void): Promise<SummedFitOutcome> {
    const p = this.p;
    const cfg = p.config;
    const n = chosen.length;
    const conns = new Map(chosen.map((c, i) => [i + 1, c]));
    const indexOf = new Map(chosen.map((c, i) => [c.name, i + 1]));
    const session = `${p.runId}/r${round}/a${attempt}/fit`;
    const graph = cfg.secureAggregation.variant === 'secagg' ? { kind: 'full' as const } : cfg.secureAggregation.variant === 'secagg+' && n > 3 ? sparseGraph(n, session) : defaultGraph(n, session);
    const threshold = cfg.secureAggregation.threshold ?? defaultThreshold(n, graph);
    const mechanism = this.privacy?.begin(n);
    this.privacy?.checkBudget(round, this.secure ? Math.min(threshold, n) : n);
    const dp = mechanism ? mechanism.hospitalParams() : undefined;
    const kept = global.filter((t) => !p.keepLocal.has(t.name));
    const layout = fitSumLayout({
      length: kept.reduce((s, t) => s + t.values.length, 0),
      range: dp ? dp.clip + 8 * dp.noiseStd : cfg.secureAggregation.range,
      maxWeight: Math.max(1, ...chosen.map((c) => maxFitExamples(c.hello?.examples.train ?? 0, cfg.fit.maxExamplesPerEpoch))),
      maxSummands: n,
      dp: !!dp,
      indicatorRange: dp?.indicatorNoiseStd !== undefined ? 0.5 + 8 * dp.indicatorNoiseStd : undefined,
    });
    const results = new Map<string, JobOutcome<AcceptedUpdate>>();
    const drop = (d: StageDrop) => {
      if (results.has(d.name)) return;
      const o = { ok: false as const, error: `left the secure sum at ${d.stage}: ${d.error}` };
      results.set(d.name, o);
      settled(d.name, o);
      p.recorder.logger.log('warn', 'secure aggregation: hospital dropped', { round, attempt, hospital: d.name, stage: d.stage, error: d.error });
    };
    const failAll = (why: string) => {
      for (const c of chosen) if (!results.get(c.name) || results.get(c.name)!.ok) results.set(c.name, { ok: false, error: why });
      p.recorder.logger.log('warn', 'summed round failed', { round, attempt, error: why });
      return { fit: fitRecord(results).fit, fitSites: {} };
    };

    let server: SecAggServer | null = null;
    let ready = [...conns.keys()];
    if (this.secure) {
      if (n < 3) p.recorder.logger.log('warn', 'secure aggregation with fewer than 3 hospitals: each can subtract its own update from the sum', { round, hospitals: n });
      try {
        server = new SecAggServer({ session, participants: [...conns.keys()], threshold, graph, vectorLength: layout.length });
        const k = await exchangeKeys(server, conns, cfg.secureAggregation.stageTimeoutMs);
        k.drops.forEach(drop);
        ready = [...k.ready];
      } catch (err) {
        return failAll(`secure aggregation could not start: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const summer: Summer & { from?: Set<number>; sum?: Uint32Array } = server ? { take: (i, input) => server!.receiveMaskedInput(i, input) } : new ClearSum(session, layout.length);
    const weights = encodeWeights(global, { dtype: cfg.fit.weightsDtype });
    const spec: JobSpec<SumFitResult, AcceptedUpdate> = {
      kind: 'fit',
      round,
      attempt,
      send: (conn) => {
        p.counters.bytesSent += weights.byteLength;
        const secure: SumFit = { session, index: indexOf.get(conn.name)!, masked: this.secure, layout: layout.toWire(), ...(cfg.maxUpdateNorm && !dp ? { clip: cfg.maxUpdateNorm } : {}), ...(dp ? { dp } : {}) };
        conn.socket.emit('fit', { runId: p.runId, round, config: fitInstructions({ ...p, global }, round), weights, secure });
      },
      parse: parseSumFitResult,
      accept: (conn, msg) => {
        p.counters.bytesReceived += msg.input.masked.byteLength;
        try {
          summer.take(indexOf.get(conn.name)!, msg.input);
        } catch (err) {
          return { ok: false, error: wireError(err, 'bad_weights') };
        }
        p.counters.updatesAccepted++;
        return { ok: true, value: { examples: 0, metrics: { loss: NaN, accuracy: NaN }, durationMs: msg.durationMs } };
      },
      settled,
    };
    const fitted = await p.hub.dispatch(
      ready.map((i) => conns.get(i)!),
      spec as unknown as JobSpec<FitResult, AcceptedUpdate>,
      cfg.roundTimeoutMs,
    );
    for (const [name, o] of fitted) results.set(name, o);

    let sum: Uint32Array;
    let survivors: number;
    try {
      if (server) {
        const u = await unmask(server, conns, cfg.secureAggregation.stageTimeoutMs);
        for (const d of u.drops) p.recorder.logger.log('warn', 'secure aggregation: no unmask answer', { round, hospital: d.name, error: d.error });
        sum = u.result.sum;
        survivors = u.result.survivors.length;
        p.recorder.logger.log('info', 'secure sum unmasked', { round, attempt, survivors: u.result.survivors.length, dropped: u.result.dropped.length, absent: u.result.absent.length });
      } else {
        const clear = summer as ClearSum;
        if (clear.from.size === 0) return failAll('no hospital sent its update');
        sum = clear.sum;
        survivors = clear.from.size;
      }
    } catch (err) {
      return failAll(`the secure sum failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    let mean: { update: Float64Array; examples: number; loss: number; accuracy: number };
    try {
      mean = this.mean(layout, sum, survivors, round);
    } catch (err) {
      return failAll(`the summed update is refused: ${err instanceof Error ? err.message : String(err)}`);
    }
    p.strategy.accumulate({ hospitalId: SUM_ID, examples: mean.examples, weights: applyDelta(kept, mean.update) });
    const { fit } = fitRecord(results);
    return { fit: { ...fit, loss: mean.loss, accuracy: mean.accuracy, examples: mean.examples }, fitSites: {} };
  }

  /** The mean update from the sum: unpacked, DP's noise and fixed denominator, checked (finite, norm). */
  private mean(layout: SumLayout, sum: Uint32Array, survivors: number, round: number) {
    const cfg = this.p.config;
    const fs = unpackFitSum(layout, sum, survivors);
    let examples = fs.totalWeight ?? 0;
    if (this.privacy) {
      const mechanism = this.privacy.begin(survivors);
      const clipUsed = mechanism.clip;
      mechanism.finalise(fs.update, cryptoRandom());
      examples = mechanism.denominator;
      if (fs.indicatorSum !== undefined) mechanism.updateClip(fs.indicatorSum, cryptoRandom());
      const r = this.privacy.step(round, survivors, clipUsed);
      this.p.recorder.logger.log('info', 'privacy spent', { round, epsilon: r.epsilon, delta: cfg.dp!.delta, noiseMultiplier: r.noiseMultiplier, clip: clipUsed, nextClip: mechanism.clip, survivors });
    }
    for (let i = 0; i < fs.update.length; i++) if (!Number.isFinite(fs.update[i])) throw new SecureError('not_finite', `The mean update holds ${fs.update[i]} at ${i}`);
    const norm = l2Norm(fs.update);
    // Every hospital clipped to maxUpdateNorm, so the mean is within it (triangle inequality) up to the fixed point's error.
    const bound = cfg.maxUpdateNorm === undefined ? Infinity : cfg.maxUpdateNorm + fs.errorBound * Math.sqrt(fs.update.length);
    if (!this.privacy && norm > bound) throw new SecureError('bad_config', `The mean update's L2 norm ${norm.toPrecision(4)} exceeds maxUpdateNorm ${cfg.maxUpdateNorm}`);
    return { update: fs.update, examples: Math.max(1, Math.round(examples)), loss: fs.loss, accuracy: fs.accuracy };
  }
}

/** SecAgg+'s sparse graph for n hospitals: the default degree, or the densest even degree below n − 1 for a small federation. */
function sparseGraph(n: number, seed: string) {
  const g = defaultGraph(n, seed);
  if (g.kind === 'sparse') return g;
  const degree = Math.max(2, 2 * Math.floor((n - 2) / 2));
  return degree >= n - 1 ? g : { kind: 'sparse' as const, degree, seed };
}

/** global + delta for the aggregated tensors (delta in their order). */
function applyDelta(kept: NamedWeights, delta: Float64Array): NamedWeights {
  let at = 0;
  return kept.map((t) => {
    const values = new Float32Array(t.values.length);
    for (let i = 0; i < values.length; i++) values[i] = t.values[i] + delta[at + i];
    at += values.length;
    return { name: t.name, shape: [...t.shape], values };
  });
}
