import { Command } from 'commander';

// Placeholder until the predict capability lands: refuses to run rather than pretend.
export function predictCommand(): Command {
  return new Command('predict').description('(not yet available)').action(() => {
    throw new Error('fedxray predict is not available in this build yet');
  });
}
