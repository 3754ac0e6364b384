import { Command, Option } from 'commander';
import { relative, resolve } from 'node:path';
import { z } from 'zod';
import { UsageError } from '../usage';
import { addRunOptions, checkDataSource, configFileSchema, simulationSettings, withConfigFile, type RunFlags } from '../lib/run-options';
import { Progress, bar, fmt, seconds, table } from '../lib/progress';
import { defaultRunDir, demoDataWithProgress } from '../lib/demo';

interface TuneFlags extends RunFlags {
  design: string;
  optimizers?: string[];
  lrs?: number[];
  dropouts?: number[];
  activations?: string[];
  factors?: Record<string, unknown>;
  config?: string;
  centralized?: boolean;
  out?: string;
  json?: boolean;
}

/** What `tune --config <file>` may hold besides the shared options: the design and its levels. */
const TUNE_FILE = {
  design: z.string().optional(),
  factors: z.record(z.string(), z.unknown()).optional(),
  centralized: z.boolean().optional(),
  out: z.string().optional(),
  json: z.boolean().optional(),
};

function listOf<T>(name: string, parse: (s: string) => T): (value: string) => T[] {
  return (value: string) => {
    const items = value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (items.length !== 3) throw new UsageError(`Expected ${name} as 3 comma-separated levels, but got "${value}"`);
    return items.map(parse);
  };
}

const numberIn = (name: string) => (s: string) => {
  const n = Number(s);
  if (!Number.isFinite(n)) throw new UsageError(`Expected ${name} levels to be numbers, but got ${s}`);
  return n;
};

export function tuneCommand(): Command {
  const cmd = new Command('tune')
    .description(
      "Taguchi L9 tuning as in the study: 9 federated runs over 4 factors × 3 levels (optimizer, learning rate, dropout, Dense-512 activation), then main effects with larger-is-better S/N ratios and the recommended combination. Rerun with the same --out to resume.",
    )
    .addOption(new Option('--design <name>', 'orthogonal array').choices(['l9']).default('l9'))
    .option('--optimizers <a,b,c>', 'optimizer levels (adam, sgd, adagrad) [default: adam,sgd,adagrad]', listOf('--optimizers', (s) => s))
    .option('--lrs <a,b,c>', 'learning-rate levels [default: 0.001,0.0001,0.005]', listOf('--lrs', numberIn('--lrs')))
    .option('--dropouts <a,b,c>', 'dropout levels [default: 0.3,0.4,0.5]', listOf('--dropouts', numberIn('--dropouts')))
    .option('--activations <a,b,c>', 'Dense-512 activation levels (relu, tanh, sigmoid) [default: relu,tanh,sigmoid]', listOf('--activations', (s) => s))
    .option('--config <file>', 'JSON with design, factors {optimizer, learningRate, dropout, activation} and any option below in camelCase (flags given on the command line win; an unknown key is refused)')
    .option('--centralized', "the study's setting: one hospital holding all the data (iid), i.e. FedAvg over a single client");
  return addRunOptions(cmd)
    .option('--out <dir>', 'tune directory: tune.json, tune.md, trial-1 … trial-9 (default runs/tune-<time>)')
    .option('--json', 'print tune.json to stdout at the end')
    .action(async (flags: TuneFlags, command: Command) => {
      await runTune(flags, command);
    });
}

/** The flags with the --config file's values, and the factor levels (flags win over the file). */
function mergeConfig(cliFlags: TuneFlags, cmd: Command): { flags: TuneFlags; factors: Record<string, unknown> } {
  const flags = withConfigFile(cliFlags, cmd, configFileSchema(TUNE_FILE));
  const factors: Record<string, unknown> = { ...(flags.factors ?? {}) };
  if (cliFlags.optimizers) factors.optimizer = cliFlags.optimizers;
  if (cliFlags.lrs) factors.learningRate = cliFlags.lrs;
  if (cliFlags.dropouts) factors.dropout = cliFlags.dropouts;
  if (cliFlags.activations) factors.activation = cliFlags.activations;
  return { flags, factors };
}

async function runTune(cliFlags: TuneFlags, cmd: Command): Promise<void> {
  const { flags, factors } = mergeConfig(cliFlags, cmd);
  checkDataSource(flags);
  if (flags.centralized && (cmd.getOptionValueSource('hospitals') === 'cli' || flags.partition !== undefined)) {
    throw new UsageError('--centralized means one hospital holding all the data (iid); leave out --hospitals and --partition');
  }
  const sim = await import('@fedxray/simulation');
  try {
    sim.parseTuneDesign({ design: flags.design, factors }); // refuse bad levels before generating any data
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message.replace(/^Invalid tune design: /, 'Invalid levels: ') : String(err));
  }
  const p = new Progress();
  const data = flags.demo ? await demoDataWithProgress(flags.cacheDir, p) : flags.data;
  const out = flags.out ? resolve(flags.out) : defaultRunDir('tune');
  const simulation = simulationSettings(flags, data);
  const imageSize = simulation.model.imageSize;

  let tuner: InstanceType<typeof sim.Tuner>;
  try {
    tuner = new sim.Tuner({ out, design: { design: flags.design as 'l9', factors }, centralized: !!flags.centralized, simulation });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message.replace(/^Invalid tune design: /, 'Invalid levels: ') : String(err));
  }

  const started = Date.now();
  const b = tuner.base;
  tuner.on('plan', ({ trials, skipped }) => {
    p.line(
      `Taguchi ${tuner.design.design.toUpperCase()}: ${trials.length} trials, each a federation of ${b.hospitals} hospital(s)${tuner.centralized ? ' (centralized: one hospital holds all the data)' : `, partition ${b.partition}`}, ` +
        `${b.rounds} round(s) × ${b.localEpochs} local epoch(s), ${flags.arch} ${imageSize}×${imageSize}, seed ${b.seed}`,
    );
    if (skipped.length) p.line(`Resuming ${relative(process.cwd(), out) || '.'}: trial(s) ${skipped.join(', ')} already finished, skipped`);
  });
  tuner.on('trialStart', ({ plan, of }) => {
    const s = plan.settings;
    p.line(`Trial ${plan.trial}/${of}: optimizer ${s.optimizer}, learning rate ${s.learningRate}, dropout ${s.dropout}, activation ${s.activation}`);
  });
  tuner.on('simulation', ({ simulation }) => {
    const progress = new Map<string, string>();
    simulation.on('roundStart', ({ round }) => {
      progress.clear();
      p.update(`  round ${round}/${b.rounds}`);
    });
    simulation.on('progress', ({ hospital, progress: pr }) => {
      progress.set(hospital, `${hospital} ${bar(pr.done, pr.total, 10)}`);
      p.update(`  ${[...progress.values()].join('  ')}`);
    });
    simulation.on('roundEnd', (rec) => p.line(`  round ${rec.round}/${b.rounds}: train acc ${fmt(rec.fit.accuracy)}, test acc ${fmt(rec.metrics?.accuracy)} (${seconds(rec.durationMs)})`));
  });
  tuner.on('trialEnd', (t) => {
    p.line(t.status === 'complete' ? `  → train acc ${fmt(t.trainAccuracy, 4)}, test acc ${fmt(t.testAccuracy, 4)} in ${seconds(t.durationMs)}` : `  → failed: ${t.error}`);
  });

  let result: Awaited<ReturnType<typeof tuner.run>>;
  try {
    result = await tuner.run();
  } catch (err) {
    if (err instanceof sim.TuneResumeError) throw new UsageError(err.message);
    throw err;
  } finally {
    p.done();
  }
  const print = (text: string) => process.stdout.write(`${text}\n`);
  const plans = sim.planTrials(tuner.design);
  print('');
  const trials = sim.trialTable(result.trials, plans);
  print(table(trials.header, trials.rows));
  const means = sim.responseTable(result, 'mean');
  const sn = sim.responseTable(result, 'sn');
  if (means && sn) {
    print('\nMain effects: mean test accuracy per level');
    print(table(means.header, means.rows));
    print('\nSignal-to-noise ratio per level (larger is better, dB)');
    print(table(sn.header, sn.rows));
    print(`\n${sim.recommendation(result)}`);
  }
  p.line(`Took ${seconds(Date.now() - started)}. Tune directory: ${relative(process.cwd(), out) || '.'} (tune.json, tune.md, trial-N/)`);
  if (flags.json) print(JSON.stringify(result, null, 2));
  if (!result.complete) {
    const failed = result.trials.filter((t) => t.status !== 'complete').map((t) => t.trial);
    throw new Error(`Trial(s) ${failed.join(', ')} failed (see tune.json); rerun the same command to retry them, the finished trials are kept.`);
  }
}
