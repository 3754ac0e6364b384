import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { z } from 'zod';
import { UsageError, parseIntOption } from '../usage';
import { Progress, bar, fmt, seconds, table } from '../lib/progress';
import { defaultRunDir, demoDataWithProgress } from '../lib/demo';

interface TuneFlags {
  design: string;
  optimizers?: string[];
  lrs?: number[];
  dropouts?: number[];
  activations?: string[];
  config?: string;
  centralized?: boolean;
  demo?: boolean;
  data?: string;
  hospitals: number;
  partition?: string;
  rounds: number;
  localEpochs: number;
  batchSize: number;
  maxExamples: number;
  arch: string;
  imageSize?: number;
  backend: string;
  seed: number;
  out?: string;
  workers: boolean;
  cacheDir: string;
  json?: boolean;
}

/** What `--config <file>` may hold: the design and its levels, and any of the flags below in camelCase. */
const TuneFileSchema = z
  .object({
    design: z.string().optional(),
    factors: z.record(z.string(), z.unknown()).optional(),
    centralized: z.boolean().optional(),
    demo: z.boolean().optional(),
    data: z.string().optional(),
    hospitals: z.number().int().positive().optional(),
    partition: z.string().optional(),
    rounds: z.number().int().positive().optional(),
    localEpochs: z.number().int().positive().optional(),
    batchSize: z.number().int().positive().optional(),
    maxExamples: z.number().int().nonnegative().optional(),
    arch: z.string().optional(),
    imageSize: z.number().int().positive().optional(),
    backend: z.enum(['auto', 'gpu', 'node', 'wasm', 'cpu']).optional(),
    seed: z.number().int().optional(),
    out: z.string().optional(),
    workers: z.boolean().optional(),
    cacheDir: z.string().optional(),
  })
  .strict();

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
  return new Command('tune')
    .description(
      "Taguchi L9 tuning as in the study: 9 federated runs over 4 factors × 3 levels (optimizer, learning rate, dropout, Dense-512 activation), then main effects with larger-is-better S/N ratios and the recommended combination. Rerun with the same --out to resume.",
    )
    .addOption(new Option('--design <name>', 'orthogonal array').choices(['l9']).default('l9'))
    .option('--optimizers <a,b,c>', 'optimizer levels (adam, sgd, adagrad) [default: adam,sgd,adagrad]', listOf('--optimizers', (s) => s))
    .option('--lrs <a,b,c>', 'learning-rate levels [default: 0.001,0.0001,0.005]', listOf('--lrs', numberIn('--lrs')))
    .option('--dropouts <a,b,c>', 'dropout levels [default: 0.3,0.4,0.5]', listOf('--dropouts', numberIn('--dropouts')))
    .option('--activations <a,b,c>', 'Dense-512 activation levels (relu, tanh, sigmoid) [default: relu,tanh,sigmoid]', listOf('--activations', (s) => s))
    .option('--config <file>', 'JSON with design, factors {optimizer, learningRate, dropout, activation} and any flag below in camelCase (flags given on the command line win)')
    .option('--centralized', "the study's setting: one hospital holding all the data (iid), i.e. FedAvg over a single client")
    .option('--demo', 'use the embedded synthetic chest X-rays (generated once into --cache-dir)')
    .option('--data <dir>', 'one data set in class folders, split among the hospitals by --partition')
    .option('--hospitals <n>', 'number of hospitals', parseIntOption('--hospitals', 1), 3)
    .option('--partition <spec>', 'iid | dirichlet:<alpha> | pathological:<k> | quantity:<beta> (default: iid; demo: dirichlet:1)')
    .option('--rounds <n>', 'federated rounds per trial', parseIntOption('--rounds', 1), 3)
    .option('--local-epochs <n>', 'epochs each hospital trains per round', parseIntOption('--local-epochs', 1), 1)
    .option('--batch-size <n>', 'training batch size', parseIntOption('--batch-size', 1), 32)
    .option('--max-examples <n>', 'cap on training examples per hospital epoch (0 = all)', parseIntOption('--max-examples', 0), 0)
    .option('--arch <arch>', 'densenet121 | densenet169 | densenet201 | densenet-small | densenet-tiny', 'densenet-tiny')
    .option('--image-size <px>', 'model input size (default 224; demo 64)', parseIntOption('--image-size', 16))
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(['auto', 'gpu', 'node', 'wasm', 'cpu']).default('auto'))
    .option('--seed <n>', 'seed for the split, partition, initial weights and sampling (the same in every trial)', parseIntOption('--seed', 0), 42)
    .option('--out <dir>', 'tune directory: tune.json, tune.md, trial-1 … trial-9 (default runs/tune-<time>)')
    .option('--no-workers', 'train hospitals on the main thread instead of one worker thread each')
    .option('--cache-dir <dir>', 'where --demo keeps the generated images', '.cache')
    .option('--json', 'print tune.json to stdout at the end')
    .action(async (flags: TuneFlags, cmd: Command) => {
      await runTune(flags, cmd);
    });
}

function mergeConfig(cliFlags: TuneFlags, cmd: Command): { flags: TuneFlags; factors: Record<string, unknown> } {
  let file: z.infer<typeof TuneFileSchema> = {};
  if (cliFlags.config) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(cliFlags.config, 'utf8'));
    } catch (err) {
      throw new UsageError(`Cannot read --config ${cliFlags.config}: ${err instanceof Error ? err.message : err}`);
    }
    const r = TuneFileSchema.safeParse(raw);
    if (!r.success) throw new UsageError(`Invalid --config ${cliFlags.config}: ${r.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`).join('; ')}`);
    file = r.data;
  }
  const fromCli = (k: string) => cmd.getOptionValueSource(k) === 'cli';
  const { factors: fileFactors, ...fileFlags } = file;
  const flags = { ...cliFlags } as Record<string, unknown>;
  for (const [k, v] of Object.entries(fileFlags)) if (!fromCli(k)) flags[k] = v;
  const factors: Record<string, unknown> = { ...(fileFactors ?? {}) };
  if (cliFlags.optimizers) factors.optimizer = cliFlags.optimizers;
  if (cliFlags.lrs) factors.learningRate = cliFlags.lrs;
  if (cliFlags.dropouts) factors.dropout = cliFlags.dropouts;
  if (cliFlags.activations) factors.activation = cliFlags.activations;
  return { flags: flags as unknown as TuneFlags, factors };
}

async function runTune(cliFlags: TuneFlags, cmd: Command): Promise<void> {
  const { flags, factors } = mergeConfig(cliFlags, cmd);
  if (!!flags.demo === !!flags.data) throw new UsageError('Give exactly one of --demo or --data <dir>');
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
  let data = flags.data;
  if (flags.demo) {
    data = await demoDataWithProgress(flags.cacheDir, p);
  }
  const imageSize = flags.imageSize ?? (flags.demo ? 64 : 224);
  const out = flags.out ? resolve(flags.out) : defaultRunDir('tune');

  let tuner: InstanceType<typeof sim.Tuner>;
  try {
    tuner = new sim.Tuner({
      out,
      design: { design: flags.design as 'l9', factors },
      centralized: !!flags.centralized,
      simulation: {
        data,
        hospitals: flags.hospitals,
        partition: flags.partition ?? (flags.demo ? 'dirichlet:1' : 'iid'),
        rounds: flags.rounds,
        localEpochs: flags.localEpochs,
        batchSize: flags.batchSize,
        maxExamplesPerEpoch: flags.maxExamples,
        model: { arch: flags.arch, imageSize },
        backend: flags.backend as 'auto',
        seed: flags.seed,
        workers: flags.workers,
      },
    });
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
