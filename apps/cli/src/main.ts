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
  // addCommand does not pass the program's settings on: without this a subcommand's usage
  // error would call process.exit itself, past main's exit codes
  const override = (c: Command) => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  override(program);
  return program;
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    // commander's own usage errors (an unknown option, a value outside .choices()) exit 1 by
    // default; every usage mistake exits 2, as fedxray's own checks do. --help and --version exit 0.
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof UsageError) {
      process.stderr.write(`fedxray: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`fedxray: ${err instanceof Error ? err.message : String(err)}\n`);
    if (process.env.FEDXRAY_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    return 1;
  }
}
