import { Command } from 'commander';
import { benchAggregateCommand } from './bench/aggregate';
import { benchConvCommand } from './bench/conv';
import { benchDataCommand } from './bench/data';
import { benchTrainCommand } from './bench/train';
import { benchTransportCommand } from './bench/transport';

/** `fedxray bench …`: measurements anyone can rerun on their own machine. */
export function benchCommand(): Command {
  const bench = new Command('bench').description('Measure training, convolution, data, aggregation and transport speed on this machine');
  bench.addCommand(benchTrainCommand());
  bench.addCommand(benchConvCommand());
  bench.addCommand(benchAggregateCommand());
  bench.addCommand(benchDataCommand());
  bench.addCommand(benchTransportCommand());
  return bench;
}
