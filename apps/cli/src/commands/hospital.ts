import { Command } from 'commander';

// Placeholder until the hospital capability lands: refuses to run rather than pretend.
export function hospitalCommand(): Command {
  return new Command('hospital').description('(not yet available)').action(() => {
    throw new Error('fedxray hospital is not available in this build yet');
  });
}
