import { coordinateMedian } from './aggregate';
import { HoldingStrategy, type HeldUpdate } from './holding';
import { defineStrategy } from './registry';

/** FedMedian (Yin et al. 2018): coordinate-wise median, unweighted. */
export class FedMedian extends HoldingStrategy {
  readonly name = 'fedmedian';

  protected combine(held: HeldUpdate[]) {
    return { slots: coordinateMedian(held.map((h) => h.slots)), used: held.map((h) => h.id) };
  }
}

export const fedmedianStrategy = defineStrategy({
  name: 'fedmedian',
  description: 'coordinate-wise median, unweighted (Yin et al. 2018)',
  params: {},
  needsIndividualUpdates: true,
  weightedMean: false,
  create: (_config, options) => new FedMedian(options),
});
