// Round 0's global model: seeded random weights, or the run's --weights
// (ImageNet, a Keras file, an earlier model), loaded once, checked against the
// spec and recorded in the run's folder with its hash.
import type { NamedWeights } from '@fedxray/protocol';
import { ModelError, hashNamedWeights, resolveStartingWeights, type ModelSpec } from '@fedxray/model';
import type { CoordinatorConfig } from './config';
import type { Logger } from './log';
import { ConfigError } from './run-config';
import type { RunFiles } from './run-files';

/** What the run started from, as summary.json and starting-weights.json record it. */
export interface StartingWeightsRecord {
  source: string;
  description: string;
  /** SHA-256 over the named tensors in manifest order. */
  hash: string;
  notes: string[];
}

export const STARTING_WEIGHTS_FILE = 'starting-weights.json';

/** Loads the starting weights (files.initialWeights() for `random`), logs and records where they came from. */
export async function startingWeights(config: CoordinatorConfig, spec: ModelSpec, files: RunFiles, logger: Logger): Promise<{ weights: NamedWeights; record: StartingWeightsRecord }> {
  const source = config.weights ?? 'random';
  let record: StartingWeightsRecord;
  let weights: NamedWeights;
  if (source === 'random') {
    weights = files.initialWeights();
    record = { source, description: `random (seed ${config.seed})`, hash: hashNamedWeights(weights), notes: [] };
  } else {
    let next = 0;
    const onProgress = (p: { received: number; total: number | null }) => {
      const percent = p.total ? Math.floor((100 * p.received) / p.total) : 0;
      if (percent < next) return;
      next = percent + 10;
      logger.log('info', 'downloading ImageNet weights', { received: p.received, total: p.total });
    };
    const start = await resolveStartingWeights(source, spec, { seed: config.seed, fetch: { onProgress } }).catch((err) => {
      throw err instanceof ModelError ? new ConfigError(`Invalid weights: ${err.message}`) : err;
    });
    weights = start.weights;
    record = { source, description: start.description, hash: start.hash, notes: start.notes };
  }
  logger.log('info', `starting weights: ${record.description}`, { hash: record.hash, notes: record.notes });
  files.writeJson(STARTING_WEIGHTS_FILE, record, true);
  return { weights, record };
}
