import { z } from 'zod';
import { cappedShares, krumScores, lowestScores, squaredDistances, tooFewForKrum, weightedMean } from './aggregate';
import { AggregationError } from './errors';
import { HoldingStrategy, type HeldUpdate } from './holding';
import { defineStrategy, type BuildOptions } from './registry';

/**
 * Krum / MultiKrum (Blanchard et al. 2017), as Flower's `aggregate_krum`: each
 * update is scored by its squared distances to its n − f − 2 nearest others
 * (f = `byzantine`); Krum (keep = 1) returns the best-scored update itself,
 * MultiKrum the example-weighted mean of the `keep` best (0: n − f). Both need
 * n > 2f + 2 updates: refused at creation when the caller says how many a round
 * will have (`updatesPerRound`), else at `finish`.
 */
export class Krum extends HoldingStrategy {
  readonly name: string;

  constructor(
    readonly byzantine: number,
    readonly keep: number,
    protected override readonly options: BuildOptions = {},
    name = keep === 1 ? 'krum' : 'multikrum',
  ) {
    super(options);
    this.name = name;
    if (!(Number.isInteger(byzantine) && byzantine >= 0)) throw new AggregationError('bad_config', `${name}: expected byzantine to be an integer ≥ 0, but got ${byzantine}`);
    const n = options.updatesPerRound;
    if (n !== undefined && n <= 2 * byzantine + 2) throw new AggregationError('bad_config', `${tooFewForKrum(n, byzantine, name)} (updatesPerRound)`);
  }

  protected combine(held: HeldUpdate[]) {
    if (held.length <= 2 * this.byzantine + 2) throw new AggregationError('too_few_updates', `Round ${this.round}: ${tooFewForKrum(held.length, this.byzantine, this.name)}`);
    const scores = krumScores(squaredDistances(held.map((h) => h.slots)), this.byzantine);
    const keep = Math.min(held.length, this.keep > 0 ? this.keep : held.length - this.byzantine);
    const best = lowestScores(scores, keep).map((i) => held[i]);
    if (best.length === 1) return { slots: best[0].slots.map((t) => new Float32Array(t)), used: [best[0].id] };
    const counts = best.map((h) => h.examples);
    const weights = this.options.maxWeight === undefined ? counts : cappedShares(counts, this.options.maxWeight);
    return {
      slots: weightedMean(
        best.map((h) => h.slots),
        weights,
      ),
      used: best.map((h) => h.id),
    };
  }
}

/** Krum's parameter: f, the number of Byzantine updates to tolerate. */
export const byzantineParam = { byzantine: z.number().int().nonnegative().default(0) };

export const krumStrategy = defineStrategy({
  name: 'krum',
  description: 'the update closest to its n − f − 2 nearest others (Blanchard et al. 2017); needs n > 2f + 2',
  params: byzantineParam,
  needsIndividualUpdates: true,
  weightedMean: false,
  create: (config, options) => new Krum(config.byzantine, 1, options, 'krum'),
});
