import { Command } from 'commander';

// Placeholder until the data capability lands: refuses to run rather than pretend.
export function dataCommand(): Command {
  return new Command('data').description('(not yet available)').action(() => {
    throw new Error('fedxray data is not available in this build yet');
  });
}
