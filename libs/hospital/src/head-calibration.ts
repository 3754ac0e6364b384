// Head calibration of a model trained at one site (the simulation's
// centralized baseline): the same retraining of the last layer on virtual
// features that the coordinator does with the hospitals' pooled statistics,
// here with one trainer's own.
import { calibrateHeadWeights, headStatsFromNamed, type HeadFitOptions } from '@fedxray/model';
import type { NamedWeights } from '@fedxray/protocol';
import type { LocalTrainer } from './trainer';

/** `weights` with the last layer retrained on the class statistics of up to `maxExamples` of the trainer's training images. */
export async function calibrateHeadAt(trainer: LocalTrainer, weights: NamedWeights, maxExamples: number, fit: HeadFitOptions): Promise<NamedWeights> {
  const { stats, examples } = await trainer.calibrate(weights, maxExamples, undefined, 'head');
  const counts = stats.find((t) => t.name.endsWith('/counts'));
  const sums = stats.find((t) => t.name.endsWith('/sum'));
  if (!counts || !sums) throw new Error('the trainer returned no class statistics');
  return calibrateHeadWeights(weights, headStatsFromNamed(stats, counts.values.length, sums.shape[1], examples), fit);
}
