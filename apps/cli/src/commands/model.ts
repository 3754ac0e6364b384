import { Command } from 'commander';

// Placeholder until the model capability lands: refuses to run rather than pretend.
export function modelCommand(): Command {
  return new Command('model').description('(not yet available)').action(() => {
    throw new Error('fedxray model is not available in this build yet');
  });
}
