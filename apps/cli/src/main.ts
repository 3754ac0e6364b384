import { Command, CommanderError } from 'commander';
import { benchCommand } from './commands/bench';
import { coordinatorCommand } from './commands/coordinator';
import { dataCommand } from './commands/data';
import { evaluateCommand } from './commands/evaluate';
import { hospitalCommand } from './commands/hospital';
import { modelCommand } from './commands/model';
import { predictCommand } from './commands/predict';
import { simulateCommand } from './commands/simulate';
import { tuneCommand } from './commands/tune';
import { UsageError } from './usage';

export function buildProgram(): Command {
  const program = new Command('fedxray')
    .description('Federated training of a chest X-ray classifier: hospitals keep their images, the coordinator aggregates their models.')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  for (const cmd of [
    simulateCommand(),
    coordinatorCommand(),
    hospitalCommand(),
    dataCommand(),
    modelCommand(),
    evaluateCommand(),
    predictCommand(),
    tuneCommand(),
    benchCommand(),
  ]) {
    program.addCommand(cmd);
  }
  return program;
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof UsageError) {
      process.stderr.write(`fedxray: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`fedxray: ${err instanceof Error ? err.message : String(err)}\n`);
    if (process.env.FEDXRAY_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    return 1;
  }
}
