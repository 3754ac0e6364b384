/** Responses at or below this count as this value in the S/N ratio, so an accuracy of 0 gives −120 dB, not −∞. */
export const SN_FLOOR = 1e-6;

/**
 * Larger-is-better signal-to-noise ratio of one trial's responses:
 * S/N = −10·log10(mean(1/y²)), in dB. With one response it is 20·log10(y).
 */
export function snLargerIsBetter(ys: readonly number[]): number {
  if (ys.length === 0) throw new RangeError('Expected at least one response for an S/N ratio, but got none');
  let s = 0;
  for (const y of ys) {
    if (!Number.isFinite(y)) throw new RangeError(`Expected finite responses for an S/N ratio, but got ${y}`);
    const v = Math.max(y, SN_FLOOR);
    s += 1 / (v * v);
  }
  return -10 * Math.log10(s / ys.length);
}

export interface LevelEffect {
  /** Index of the level (0, 1, 2). */
  level: number;
  /** The level's value, as configured. */
  value: string | number;
  /** Trials run at this level. */
  trials: number[];
  /** Mean response (test accuracy) over those trials. */
  mean: number;
  /** Mean of those trials' S/N ratios, dB. */
  sn: number;
}

export interface FactorEffect {
  factor: string;
  levels: LevelEffect[];
  /** max − min of the level means. */
  deltaMean: number;
  /** max − min of the level S/N ratios (dB). */
  deltaSn: number;
  /** 1 = the factor whose S/N moves most. */
  rankSn: number;
  /** 1 = the factor whose mean moves most. */
  rankMean: number;
  /** The level with the highest S/N (ties: the higher mean, then the first). */
  best: LevelEffect;
}

export interface TrialResponse {
  /** Level index of each factor, in factor order. */
  levels: readonly number[];
  /** The responses of this trial (one per repeat); larger is better. */
  responses: readonly number[];
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Ranks by value, largest first; values within rounding noise (1e-9) share the better rank. */
function ranks(values: readonly number[]): number[] {
  return values.map((v) => 1 + values.filter((w) => w > v + 1e-9).length);
}

/**
 * Main effects of an orthogonal-array experiment: for each factor level, the
 * mean response and the mean S/N ratio of the trials run at that level; per
 * factor, the spread (delta) and its rank among the factors.
 */
export function mainEffects(factors: readonly { name: string; values: readonly (string | number)[] }[], trials: readonly TrialResponse[]): FactorEffect[] {
  const sn = trials.map((t) => snLargerIsBetter(t.responses));
  const ys = trials.map((t) => mean(t.responses));
  const effects = factors.map((f, fi) => {
    const levels: LevelEffect[] = f.values.map((value, level) => {
      const idx = trials.map((t, i) => (t.levels[fi] === level ? i : -1)).filter((i) => i >= 0);
      if (idx.length === 0) throw new RangeError(`Factor ${f.name} level ${level + 1} (${value}) appears in no trial`);
      return { level, value, trials: idx.map((i) => i + 1), mean: mean(idx.map((i) => ys[i])), sn: mean(idx.map((i) => sn[i])) };
    });
    const best = levels.reduce((b, l) => (l.sn > b.sn || (l.sn === b.sn && l.mean > b.mean) ? l : b));
    const spread = (xs: number[]) => Math.max(...xs) - Math.min(...xs);
    return { factor: f.name, levels, deltaMean: spread(levels.map((l) => l.mean)), deltaSn: spread(levels.map((l) => l.sn)), rankSn: 0, rankMean: 0, best };
  });
  const rs = ranks(effects.map((e) => e.deltaSn));
  const rm = ranks(effects.map((e) => e.deltaMean));
  effects.forEach((e, i) => {
    e.rankSn = rs[i];
    e.rankMean = rm[i];
  });
  return effects;
}
