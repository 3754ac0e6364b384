import { Command } from 'commander';

// Placeholder until the coordinator capability lands: refuses to run rather than pretend.
export function coordinatorCommand(): Command {
  return new Command('coordinator').description('(not yet available)').action(() => {
    throw new Error('fedxray coordinator is not available in this build yet');
  });
}
