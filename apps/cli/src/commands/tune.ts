import { Command } from 'commander';

// Placeholder until the tune capability lands: refuses to run rather than pretend.
export function tuneCommand(): Command {
  return new Command('tune').description('(not yet available)').action(() => {
    throw new Error('fedxray tune is not available in this build yet');
  });
}
