import { Command } from 'commander';

// Placeholder until the evaluate capability lands: refuses to run rather than pretend.
export function evaluateCommand(): Command {
  return new Command('evaluate').description('(not yet available)').action(() => {
    throw new Error('fedxray evaluate is not available in this build yet');
  });
}
