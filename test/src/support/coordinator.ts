import { Coordinator, type CoordinatorConfigInput } from '@fedxray/coordinator';
import { tempDir } from './images';

/** The tiny model of the end-to-end tests, over the blob data set's classes. */
export const TINY_MODEL = { arch: 'densenet-tiny', imageSize: 16, classes: ['left', 'right', 'top'] };

/**
 * A loopback coordinator for end-to-end tests: one round of the tiny model
 * with every hospital of `staticTokens`, no failures tolerated, no initial
 * evaluation, fast heartbeats; `overrides` change any field.
 */
export function loopbackCoordinator(staticTokens: Record<string, string>, overrides: Partial<CoordinatorConfigInput> = {}): Promise<Coordinator> {
  const n = Object.keys(staticTokens).length;
  return Coordinator.start({
    dataDir: tempDir(),
    port: 0,
    rounds: 1,
    minAvailable: n,
    minFit: n,
    maxFailures: 0,
    heartbeatIntervalMs: 500,
    waitTimeoutMs: 120_000,
    evaluateInitial: false,
    fit: { localEpochs: 1, batchSize: 8 },
    model: TINY_MODEL,
    staticTokens,
    ...overrides,
  });
}
