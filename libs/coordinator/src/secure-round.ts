// A round whose updates are summed instead of sent one by one: with secure
// aggregation (SecAgg/SecAgg+: the coordinator learns only the sum) and/or
// client-level differential privacy (hospitals clip; noise on the sum). The
// strategy then sees one update, the mean, and acts on it as on a plain mean.
import { SumFitResultSchema, encodeWeights, type NamedWeights, type SumFit, type SumFitResult } from '@fedxray/protocol';
import { SecureError, cryptoRandom, fitSumLayout, l2Norm, unpackFitSum, type SumLayout } from '@fedxray/secure';
import { fitInstructions, fitRecord, type AcceptedUpdate, type FitPhase } from './fit-phase';
import { maxFitExamples } from './intake';
import type { Connection, JobOutcome } from './jobs';
import { PrivacyAccount, type PrivacySummary } from './privacy-account';
import { samplingRate } from './privacy-config';
import { runSum, summedAnswer, sumPlan } from './secure-sum';
import type { FitRecord, SiteRoundMetrics } from './state';

/** The name the summed update goes into the strategy under. */
export const SUM_ID = 'secure-sum';

/** What a summed fit phase gives the round engine. */
export interface SummedFitOutcome {
  fit: FitRecord;
  /** Always empty: no hospital's own numbers are known. */
  fitSites: Record<string, SiteRoundMetrics>;
}

const parseSumFitResult = summedAnswer<SumFitResult>(SumFitResultSchema, 'weights', 'This round is summed (secure aggregation or DP): a plain update with weights is refused', 'fitResult');

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
    const session = `${p.runId}/r${round}/a${attempt}/fit`;
    const plan = sumPlan(cfg, n, session);
    const mechanism = this.privacy?.begin(n);
    this.privacy?.checkBudget(round, this.secure ? Math.min(plan.threshold, n) : n);
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
    if (this.secure && n < 3) p.recorder.logger.log('warn', 'secure aggregation with fewer than 3 hospitals: each can subtract its own update from the sum', { round, hospitals: n });
    const weights = encodeWeights(global, { dtype: cfg.fit.weightsDtype });
    const instructions = fitInstructions({ ...p, global }, round);
    const summed = await runSum<SumFitResult, AcceptedUpdate>(p, chosen, {
      kind: 'fit',
      round,
      attempt,
      session,
      layout,
      masked: this.secure,
      plan,
      timeoutMs: cfg.roundTimeoutMs,
      send: (conn, index) => {
        p.counters.bytesSent += weights.byteLength;
        const secure: SumFit = { session, index, masked: this.secure, layout: layout.toWire(), ...(cfg.maxUpdateNorm && !dp ? { clip: cfg.maxUpdateNorm } : {}), ...(dp ? { dp } : {}) };
        conn.socket.emit('fit', { runId: p.runId, round, config: instructions, weights, secure });
      },
      parse: parseSumFitResult,
      value: (msg) => {
        p.counters.updatesAccepted++;
        return { examples: 0, metrics: { loss: NaN, accuracy: NaN }, durationMs: msg.durationMs };
      },
      settled,
    });
    const failAll = (why: string) => {
      for (const c of chosen) if (!summed.results.get(c.name) || summed.results.get(c.name)!.ok) summed.results.set(c.name, { ok: false, error: why });
      p.recorder.logger.log('warn', 'summed round failed', { round, attempt, error: why });
      return { fit: fitRecord(summed.results).fit, fitSites: {} };
    };
    if (!summed.ok) return failAll(summed.error);
    let mean: { update: Float64Array; examples: number; loss: number; accuracy: number };
    try {
      mean = this.mean(layout, summed.sum, summed.summands, round);
    } catch (err) {
      return failAll(`the summed update is refused: ${err instanceof Error ? err.message : String(err)}`);
    }
    p.strategy.accumulate({ hospitalId: SUM_ID, examples: mean.examples, weights: applyDelta(kept, mean.update) });
    const { fit } = fitRecord(summed.results);
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
