// The parameters of one secure sum, as coordinator and hospitals both check them.
import { describeZodError, SecAggSetupSchema, type SecAggGraph, type SecAggSetup } from '@fedxray/protocol';
import { SecureError } from './errors';
import { neighbourMap } from './graph';

/** What the coordinator decides for one secure sum. */
export interface SecAggRoundConfig {
  /** Names this secure sum (run, round, what is summed); binds every key and ciphertext to it. */
  session: string;
  /** Participants' numbers (1..n, distinct): the Shamir points of their shares. */
  participants: number[];
  /** Shares needed to reconstruct a secret; more than half of a closed neighbourhood. */
  threshold: number;
  graph: SecAggGraph;
  /** Words (uint32) in the summed vector. */
  vectorLength: number;
}

/** Participants in a closed neighbourhood (a participant and its neighbours). */
export function neighbourhoodSize(n: number, graph: SecAggGraph): number {
  return graph.kind === 'full' ? n : graph.degree + 1;
}

/** The smallest majority of a closed neighbourhood: survives the most dropouts the protocol can. */
export function defaultThreshold(n: number, graph: SecAggGraph): number {
  return Math.floor(neighbourhoodSize(n, graph) / 2) + 1;
}

/**
 * Checks a round's parameters and returns each participant's neighbours. The
 * threshold must exceed half a closed neighbourhood: then no two disjoint
 * groups of hospitals can each hand over `threshold` shares, so a coordinator
 * that tells some hospitals "u dropped" and others "u survived" cannot collect
 * both of u's secrets (each hospital answers once per round).
 */
export function checkRoundConfig(config: SecAggRoundConfig): Map<number, number[]> {
  const { participants, threshold, graph, vectorLength } = config;
  const parsed = SecAggSetupSchema.safeParse({ ...config, index: participants[0] ?? 0 });
  if (!parsed.success) throw new SecureError('bad_config', `Bad secure-aggregation round: ${describeZodError(parsed.error)}`);
  if (new Set(participants).size !== participants.length) throw new SecureError('bad_config', `Participants must be distinct, got [${participants.join(', ')}]`);
  const m = neighbourhoodSize(participants.length, graph);
  if (threshold <= m / 2 || threshold > m) {
    throw new SecureError(
      'bad_config',
      `Expected a threshold in ${Math.floor(m / 2) + 1}..${m} (more than half of a closed neighbourhood of ${m}), got ${threshold}`,
    );
  }
  if (!Number.isInteger(vectorLength)) throw new SecureError('bad_config', `Expected an integer vector length, got ${vectorLength}`);
  return neighbourMap(participants, graph);
}

/** The setup message for one participant. */
export function setupMessage(config: SecAggRoundConfig, index: number): SecAggSetup {
  return { session: config.session, index, participants: [...config.participants], threshold: config.threshold, graph: config.graph, vectorLength: config.vectorLength };
}
