// Differential privacy over a run: the DP-FedAvg mechanism (clip, noise,
// fixed denominator, adaptive clip) and the RDP accountant, with what the run
// reports of it (summary.json `privacy`, report.md, the log).
import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { DpFedAvg, RdpAccountant, type DpHospitalParams } from '@fedxray/secure';
import type { DpConfig } from './privacy-config';

/** One round's privacy, as reported. */
export interface PrivacyRound {
  round: number;
  /** ε(δ) after this round. */
  epsilon: number;
  /** The noise multiplier the accountant recorded (lower than configured when hospitals dropped out of a distributed-noise sum). */
  noiseMultiplier: number;
  clip: number;
  survivors: number;
}

/** summary.json's `privacy`. */
export interface PrivacySummary {
  secureAggregation: boolean;
  dp: null | { epsilon: number; delta: number; noiseMultiplier: number; clip: number; rounds: number; mode: 'central' | 'distributed'; epsilonBudget: number | null; perRound: PrivacyRound[] };
}

export class PrivacyAccount {
  private mechanism: DpFedAvg | null = null;
  private readonly accountant = new RdpAccountant();
  private readonly perRound: PrivacyRound[] = [];

  constructor(
    readonly dp: DpConfig,
    readonly distributed: boolean,
    /** The sampling rate q of every round. */
    readonly sampleRate: number,
    /** Rounds already completed (a resumed run): accounted at the configured noise. */
    completed: number,
  ) {
    if (completed > 0 && dp.noiseMultiplier > 0) this.accountant.step(dp.noiseMultiplier, sampleRate, completed);
  }

  /** The mechanism, made at the first round with its participant count (the fixed denominator and the noise shares). */
  begin(participants: number): DpFedAvg {
    this.mechanism ??= new DpFedAvg({
      noiseMultiplier: this.dp.noiseMultiplier,
      clip: this.dp.clip,
      mode: this.distributed ? 'distributed' : 'central',
      expectedParticipants: participants,
      weightCap: this.dp.weightCap,
      adaptive: this.dp.adaptiveClip ? {} : undefined,
    });
    return this.mechanism;
  }

  /**
   * Throws before a round that could take ε above the budget: with noise
   * shares (distributed), assuming only `fewestSurvivors` hospitals (the
   * secure sum's threshold) add theirs, the least noise the round can end with.
   */
  checkBudget(round: number, fewestSurvivors: number): void {
    const { epsilonBudget, delta } = this.dp;
    if (epsilonBudget === undefined) return;
    const z = this.mechanism!.accountedNoiseMultiplier(fewestSurvivors);
    const { exceeds, epsilonAfter } = this.accountant.wouldExceed(epsilonBudget, delta, z, this.sampleRate);
    if (exceeds) throw new Error(`Round ${round} would spend ε = ${epsilonAfter.toFixed(3)} (δ = ${delta}), above the privacy budget ${epsilonBudget}${this.distributed ? ` if only ${fewestSurvivors} hospitals' noise shares arrive` : ''}: the run stops here`);
  }

  /** Records a round: `survivors` hospitals' updates are in the sum; `clipUsed` was this round's clip. */
  step(round: number, survivors: number, clipUsed: number): PrivacyRound {
    const z = this.mechanism!.accountedNoiseMultiplier(survivors);
    if (z > 0) this.accountant.step(z, this.sampleRate);
    const epsilon = z > 0 || this.perRound.some((r) => r.noiseMultiplier > 0) ? this.accountant.spent(this.dp.delta).epsilon : Infinity;
    const r = { round, epsilon, noiseMultiplier: z, clip: clipUsed, survivors };
    this.perRound.push(r);
    return r;
  }

  hospitalParams(): DpHospitalParams {
    return this.mechanism!.hospitalParams();
  }

  summary(secureAggregation: boolean): PrivacySummary {
    const last = this.perRound.at(-1);
    return {
      secureAggregation,
      dp: {
        epsilon: last?.epsilon ?? 0,
        delta: this.dp.delta,
        noiseMultiplier: this.dp.noiseMultiplier,
        clip: last?.clip ?? this.dp.clip,
        rounds: this.accountant.rounds,
        mode: this.distributed ? 'distributed' : 'central',
        epsilonBudget: this.dp.epsilonBudget ?? null,
        perRound: [...this.perRound],
      },
    };
  }
}

/** Appends the run's privacy to report.md (when the report was written). */
export function appendPrivacyReport(runDir: string, p: PrivacySummary): void {
  const file = join(runDir, 'report.md');
  if (!existsSync(file)) return;
  const lines = ['', '## Privacy', '', `Secure aggregation: ${p.secureAggregation ? 'on (the coordinator saw only the sum of the updates)' : 'off'}.`];
  if (p.dp) {
    const d = p.dp;
    lines.push(
      `Differential privacy (client-level DP-FedAvg, ${d.mode} noise): noise multiplier ${d.noiseMultiplier}, clip ${d.clip.toPrecision(4)}, ${d.rounds} rounds: **ε = ${d.epsilon.toFixed(3)} at δ = ${d.delta}**${d.epsilonBudget === null ? '' : ` (budget ${d.epsilonBudget})`}.`,
      '',
      '| round | ε | noise multiplier | clip | hospitals in the sum |',
      '| --- | --- | --- | --- | --- |',
      ...d.perRound.map((r) => `| ${r.round} | ${r.epsilon.toFixed(3)} | ${r.noiseMultiplier.toFixed(3)} | ${r.clip.toPrecision(4)} | ${r.survivors} |`),
    );
  } else {
    lines.push('Differential privacy: off.');
  }
  appendFileSync(file, `${lines.join('\n')}\n`);
}
