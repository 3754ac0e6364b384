import { krumScores, lowestScores, squaredDistances, weightedMean } from './aggregate';
import { HoldingStrategy, type HeldUpdate } from './holding';
import type { StrategyOptions } from './strategy';

/**
 * Krum / MultiKrum (Blanchard et al. 2017), as Flower's `aggregate_krum`: each
 * update is scored by its squared distances to its n − f − 2 nearest others
 * (f = `byzantine`); Krum (keep = 1) returns the best-scored update itself,
 * MultiKrum the example-weighted mean of the `keep` best (0: n − f).
 */
export class Krum extends HoldingStrategy {
  readonly name: string;

  constructor(
    readonly byzantine: number,
    readonly keep: number,
    options: StrategyOptions = {},
    name = keep === 1 ? 'krum' : 'multikrum',
  ) {
    super(options);
    this.name = name;
  }

  protected combine(held: HeldUpdate[]) {
    const scores = krumScores(squaredDistances(held.map((h) => h.slots)), this.byzantine);
    const keep = Math.max(1, Math.min(held.length, this.keep > 0 ? this.keep : held.length - this.byzantine));
    const best = lowestScores(scores, keep).map((i) => held[i]);
    const slots =
      best.length === 1
        ? best[0].slots.map((t) => new Float32Array(t))
        : weightedMean(
            best.map((h) => h.slots),
            best.map((h) => h.examples),
          );
    return { slots, used: best.map((h) => h.id) };
  }
}
