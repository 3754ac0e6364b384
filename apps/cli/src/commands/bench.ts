import { Command } from 'commander';

/** `fedxray bench …`: measurements anyone can rerun on their own machine. */
export function benchCommand(): Command {
  const bench = new Command('bench').description('Measure training, data, aggregation and transport speed on this machine');
  return bench;
}
