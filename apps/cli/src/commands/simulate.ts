import { Command } from 'commander';

// Placeholder until the simulation lands: refuses to run rather than pretend.
export function simulateCommand(): Command {
  return new Command('simulate').description('(not yet available)').action(() => {
    throw new Error('fedxray simulate is not available in this build yet');
  });
}
