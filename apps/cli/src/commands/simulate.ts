import { Command, Option } from 'commander';
import { STRATEGY_NAMES } from '@fedxray/aggregation';
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { UsageError, parseFloatOption, parseIntOption } from '../usage';
import { Progress, bar, fmt, seconds, table } from '../lib/progress';
import { defaultRunDir, demoDataWithProgress } from '../lib/demo';
import { dashboardDir } from '../lib/dashboard';

interface SimulateFlags {
  demo?: boolean;
  data?: string;
  hospitalData?: string;
  hospitals: number;
  partition?: string;
  rounds: number;
  localEpochs?: number;
  batchSize: number;
  maxExamples: number;
  strategy: string;
  fedbn?: boolean;
  arch: string;
  imageSize?: number;
  backend: string;
  optimizer?: string;
  lr?: number;
  dropout?: number;
  activation?: string;
  output?: string;
  seed: number;
  out?: string;
  config?: string;
  baseline?: boolean;
  crossSite?: boolean;
  workers: boolean;
  processes?: boolean;
  augment: boolean;
  balance: string;
  dashboard?: boolean;
  port: number;
  json?: boolean;
  cacheDir: string;
}

export function simulateCommand(): Command {
  return new Command('simulate')
    .description('Run a whole federation on this machine: a coordinator and N hospitals over loopback sockets')
    .option('--demo', 'use the embedded synthetic chest X-rays (generated once into --cache-dir)')
    .option('--data <dir>', 'one data set in class folders, split among the hospitals by --partition')
    .option('--hospital-data <dirs>', 'one folder per hospital, comma-separated (instead of --data)')
    .option('--hospitals <n>', 'number of hospitals', parseIntOption('--hospitals', 1), 3)
    .option('--partition <spec>', 'iid | dirichlet:<alpha> | pathological:<k> | quantity:<beta> (default: iid; demo: dirichlet:1)')
    .option('--rounds <n>', 'federated rounds', parseIntOption('--rounds', 1), 3)
    .option('--local-epochs <n>', 'epochs each hospital trains per round (default 1; demo 2)', parseIntOption('--local-epochs', 1))
    .option('--batch-size <n>', 'training batch size', parseIntOption('--batch-size', 1), 32)
    .option('--max-examples <n>', 'cap on training examples per hospital epoch (0 = all)', parseIntOption('--max-examples', 0), 0)
    .option('--strategy <name>', `aggregation strategy (${STRATEGY_NAMES.join(', ')})`, 'fedavg')
    .option('--fedbn', 'keep BatchNorm layers local to each hospital (FedBN)')
    .option('--arch <arch>', 'densenet121 | densenet169 | densenet201 | densenet-small | densenet-tiny', 'densenet-tiny')
    .option('--image-size <px>', 'model input size (default 224; demo 64)', parseIntOption('--image-size', 8))
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(['auto', 'gpu', 'node', 'wasm', 'cpu']).default('auto'))
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(['adam', 'sgd', 'adagrad']))
    .option('--lr <rate>', 'learning rate', parseFloatOption('--lr'))
    .option('--dropout <p>', 'dropout after the Dense-512 layer', parseFloatOption('--dropout'))
    .addOption(new Option('--activation <fn>', 'Dense-512 activation').choices(['relu', 'tanh', 'sigmoid']))
    .addOption(new Option('--output <kind>', "softmax (categorical CE) or sigmoid (binary CE, the study's)").choices(['softmax', 'sigmoid']))
    .option('--seed <n>', 'seed for the split, partition, initial weights and sampling', parseIntOption('--seed', 0), 42)
    .option('--out <dir>', 'run directory (default runs/sim-<time>)')
    .option('--config <file>', 'JSON file with any of these options (flags given on the command line win)')
    .option('--baseline', 'also train the same model centrally on the pooled data and report it beside the federation')
    .option('--cross-site', 'after the last round, evaluate every hospital’s local model at every site')
    .option('--no-workers', 'train hospitals on the main thread instead of one worker thread each')
    .option('--processes', 'run every hospital in its own process, as real hospitals are')
    .option('--no-augment', 'train without augmentation')
    .option('--balance <target>', "balance classes in each hospital's epochs: max, none or a count per class", 'max')
    .option('--dashboard', 'serve the dashboard and print its URL')
    .option('--port <n>', 'coordinator port (0 = any free port)', parseIntOption('--port', 0), 0)
    .option('--json', 'print summary.json to stdout at the end')
    .option('--cache-dir <dir>', 'where --demo keeps the generated images', '.cache')
    .action(async (flags: SimulateFlags, cmd: Command) => {
      await runSimulate(flags, cmd);
    });
}

async function runSimulate(cliFlags: SimulateFlags, cmd: Command): Promise<void> {
  let flags = cliFlags;
  if (cliFlags.config) {
    let fileConfig: Record<string, unknown>;
    try {
      fileConfig = JSON.parse(readFileSync(cliFlags.config, 'utf8'));
    } catch (err) {
      throw new UsageError(`Cannot read --config ${cliFlags.config}: ${err instanceof Error ? err.message : err}`);
    }
    const fromCli = Object.fromEntries(Object.keys(cliFlags).filter((k) => cmd.getOptionValueSource(k) === 'cli').map((k) => [k, (cliFlags as any)[k]]));
    flags = { ...cliFlags, ...fileConfig, ...fromCli } as SimulateFlags;
  }
  const sources = [flags.demo, flags.data, flags.hospitalData].filter(Boolean).length;
  if (sources !== 1) throw new UsageError('Give exactly one of --demo, --data <dir> or --hospital-data <a,b,c>');
  const p = new Progress();
  let data = flags.data;
  if (flags.demo) {
    data = await demoDataWithProgress(flags.cacheDir, p);
  }
  const imageSize = flags.imageSize ?? (flags.demo ? 64 : 224);
  const out = flags.out ? resolve(flags.out) : defaultRunDir('sim');
  const model: Record<string, unknown> = { arch: flags.arch, imageSize };
  const head: Record<string, unknown> = {};
  if (flags.activation) head.activation = flags.activation;
  if (flags.dropout !== undefined) head.dropout = flags.dropout;
  if (Object.keys(head).length) model.head = head;
  if (flags.output) model.output = flags.output;
  if (flags.optimizer || flags.lr) model.optimizer = { ...(flags.optimizer ? { name: flags.optimizer } : {}), ...(flags.lr ? { learningRate: flags.lr } : {}) };

  const { Simulation } = await import('@fedxray/simulation');
  const options = Simulation.parse({
    data,
    hospitalData: flags.hospitalData ? flags.hospitalData.split(',').map((s) => s.trim()).filter(Boolean) : undefined,
    hospitals: flags.hospitals,
    partition: flags.partition ?? (flags.demo ? 'dirichlet:1' : 'iid'),
    rounds: flags.rounds,
    localEpochs: flags.localEpochs ?? (flags.demo ? 2 : 1),
    batchSize: flags.batchSize,
    maxExamplesPerEpoch: flags.maxExamples,
    strategy: { name: flags.strategy },
    keepBatchNormLocal: !!flags.fedbn,
    model,
    backend: flags.backend as any,
    augment: flags.augment,
    balance: flags.balance === 'max' || flags.balance === 'none' ? flags.balance : Number(flags.balance),
    seed: flags.seed,
    out,
    workers: flags.workers,
    processes: !!flags.processes,
    baseline: !!flags.baseline,
    crossSiteEvaluation: !!flags.crossSite,
    port: flags.port,
    dashboardDir: flags.dashboard ? dashboardDir() : undefined,
  });
  const sim = new Simulation(options);
  const started = Date.now();
  const progress = new Map<string, string>();
  sim.on('listening', ({ url }) => {
    if (flags.dashboard) p.line(`Dashboard: ${url}/`);
  });
  sim.on('plan', ({ hospitals, classes }) => {
    p.line(
      `Federation: ${hospitals.length} hospitals, ${options.rounds} rounds × ${options.localEpochs} local epoch${options.localEpochs === 1 ? '' : 's'}, ${flags.arch} ${imageSize}×${imageSize}, strategy ${flags.strategy}, partition ${
        options.hospitalData ? 'per-hospital folders' : options.partition
      }`,
    );
    p.line(
      table(
        ['hospital', 'train', 'val', 'test', ...classes.map((c) => `${c} (train)`)],
        hospitals.map((h) => [h.name, String(h.examples.train), String(h.examples.val), String(h.examples.test), ...classes.map((c) => String(h.classCounts[c] ?? '—'))]),
      ),
    );
  });
  sim.on('roundStart', ({ round: r, attempt, hospitals }) => {
    progress.clear();
    p.line(`Round ${r}/${options.rounds}${attempt > 1 ? ` (attempt ${attempt})` : ''}: training at ${hospitals.join(', ')}`);
  });
  sim.on('progress', ({ hospital, progress: pr }) => {
    progress.set(hospital, `${hospital} ${bar(pr.done, pr.total, 10)}${pr.loss !== undefined ? ` ${fmt(pr.loss, 2)}` : ''}`);
    p.update(`  ${[...progress.values()].join('  ')}`);
  });
  // One line per failed job: a fit that failed at an in-process hospital is reported by the hospital, not again by the coordinator.
  const failedFits = new Set<string>();
  sim.on('hospitalFailed', ({ hospital, phase, round: r, error }) => {
    if (phase === 'fit') failedFits.add(`${hospital}@${r}`);
    p.line(`  FAILED ${hospital}: ${phase ? `${phase} in round ${r}` : 'outside a job'}: ${error}`);
  });
  sim.on('fitResult', ({ hospital, round: r, ok, metrics, examples, error }) => {
    if (ok) p.line(`  ${hospital}: trained on ${examples} images, loss ${fmt(metrics!.loss)}, accuracy ${fmt(metrics!.accuracy)}`);
    else if (!failedFits.has(`${hospital}@${r}`)) p.line(`  FAILED ${hospital}: fit in round ${r}: ${error}`);
  });
  sim.on('roundFailed', ({ round: r, reason }) => p.line(`Round ${r} failed: ${reason}; retrying`));
  sim.on('roundEnd', (rec) => {
    const m = rec.metrics;
    p.line(
      `Round ${rec.round} done in ${seconds(rec.durationMs)}: global model on ${m?.examples ?? 0} test images: accuracy ${fmt(m?.accuracy)}, loss ${fmt(m?.loss)}${
        m ? `, balanced accuracy ${fmt(m.balancedAccuracy)}, macro AUC ${fmt(m.macroAuc)}` : ''
      }`,
    );
  });
  sim.on('baseline', (b) => {
    if (b.phase === 'start') p.line(`Baseline: the same model trained centrally on the pooled data for ${b.epochs} epochs`);
    else if (b.phase === 'epoch') p.line(`  epoch ${b.epoch}/${b.epochs}: loss ${fmt(b.loss)}, accuracy ${fmt(b.accuracy)}`);
  });
  const result = await sim.run();
  p.done();
  const rows = result.result.rounds.map((r) => [
    String(r.round),
    fmt(r.fit.loss),
    fmt(r.fit.accuracy),
    fmt(r.metrics?.loss),
    fmt(r.metrics?.accuracy),
    fmt(r.metrics?.balancedAccuracy),
    fmt(r.metrics?.macroAuc),
    seconds(r.durationMs),
  ]);
  p.line('');
  p.line(table(['round', 'train loss', 'train acc', 'test loss', 'test acc', 'bal. acc', 'macro AUC', 'time'], rows));
  const f = result.result.final;
  // Resident memory of this process: the coordinator and every hospital in it (worker threads included), not --processes children.
  const took = `Took ${seconds(Date.now() - started)}, peak memory ${result.peakRssMB} MB (resident, this process: coordinator${options.processes ? '' : ' and hospitals'})`;
  if (result.result.status !== 'complete') {
    p.line(took);
    throw new Error(`The federation did not finish: ${result.result.error ?? result.result.status}. Partial results are in ${relative(process.cwd(), out) || '.'}`);
  }
  p.line('');
  p.line(`Final global model: test accuracy ${fmt(f?.accuracy)}, loss ${fmt(f?.loss)} over ${f?.examples ?? 0} images (pooled across every hospital's test split)`);
  if (result.baseline) p.line(`Centralized baseline: test accuracy ${fmt(result.baseline.accuracy)}, loss ${fmt(result.baseline.loss)} (${result.baseline.epochs} epochs)`);
  p.line(`${took}. Run directory: ${relative(process.cwd(), out) || '.'} (model/, summary.json, report.md)`);
  if (flags.json) process.stdout.write(`${JSON.stringify(result.summary, null, 2)}\n`);
}
