import { z } from 'zod';
import { byzantineParam, Krum } from './krum';
import { defineStrategy } from './registry';

export const multikrumStrategy = defineStrategy({
  name: 'multikrum',
  description: 'example-weighted mean of the m best Krum scores (Blanchard et al. 2017); needs n > 2f + 2',
  params: {
    ...byzantineParam,
    /** Updates averaged; 0 means n − byzantine. */
    keep: z.number().int().nonnegative().default(0),
  },
  needsIndividualUpdates: true,
  weightedMean: false,
  weighted: true,
  create: (config, options) => new Krum(config.byzantine, config.keep, options, 'multikrum'),
});
