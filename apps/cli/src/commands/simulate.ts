import { Command, Option } from 'commander';
import { relative, resolve } from 'node:path';
import { z } from 'zod';
import { formatLocalLoss } from '@fedxray/protocol';
import { plural } from '@fedxray/runtime';
import { parseFloatOption, parseIntOption } from '../usage';
import { addRunOptions, checkDataSource, configFileSchema, simulationSettings, withConfigFile, type RunFlags } from '../lib/run-options';
import { Progress, bar, fmt, seconds, table } from '../lib/progress';
import { defaultRunDir, demoDataWithProgress } from '../lib/demo';
import { dashboardDir } from '../lib/dashboard';

interface SimulateFlags extends RunFlags {
  optimizer?: string;
  lr?: number;
  dropout?: number;
  activation?: string;
  out?: string;
  config?: string;
  baseline?: boolean;
  fineTune?: boolean;
  crossSite?: boolean;
  dashboard?: boolean;
  port: number;
  json?: boolean;
}

/** What `simulate --config <file>` may hold besides the shared options. */
const SIMULATE_FILE = {
  optimizer: z.enum(['adam', 'sgd', 'adagrad']).optional(),
  lr: z.number().positive().optional(),
  dropout: z.number().min(0).max(1).optional(),
  activation: z.enum(['relu', 'tanh', 'sigmoid']).optional(),
  out: z.string().optional(),
  baseline: z.boolean().optional(),
  fineTune: z.boolean().optional(),
  crossSite: z.boolean().optional(),
  dashboard: z.boolean().optional(),
  port: z.number().int().min(0).max(65535).optional(),
  json: z.boolean().optional(),
};

export function simulateCommand(): Command {
  const cmd = new Command('simulate').description('Run a whole federation on this machine: a coordinator and N hospitals over loopback sockets');
  return addRunOptions(cmd)
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(['adam', 'sgd', 'adagrad']))
    .option('--lr <rate>', 'learning rate', parseFloatOption('--lr'))
    .option('--dropout <p>', 'dropout after the Dense-512 layer', parseFloatOption('--dropout'))
    .addOption(new Option('--activation <fn>', 'Dense-512 activation').choices(['relu', 'tanh', 'sigmoid']))
    .option('--out <dir>', 'run directory (default runs/sim-<time>)')
    .option('--config <file>', 'JSON file with any of these options in camelCase (flags given on the command line win; an unknown key is refused)')
    .option('--baseline', 'also train the same model centrally on the pooled data and report it beside the federation')
    .option('--fine-tune', "after the last round, also score at each hospital the global model after one local epoch on that hospital's data")
    .option('--cross-site', 'after the last round, evaluate every hospital’s local model at every site')
    .option('--dashboard', 'serve the dashboard and print its URL')
    .option('--port <n>', 'coordinator port (0 = any free port)', parseIntOption('--port', 0), 0)
    .option('--json', 'print summary.json to stdout at the end')
    .action(async (flags: SimulateFlags, command: Command) => {
      await runSimulate(withConfigFile(flags, command, configFileSchema(SIMULATE_FILE)));
    });
}

/** Bytes as MB with one decimal (weights of a round's updates). */
function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

async function runSimulate(flags: SimulateFlags): Promise<void> {
  checkDataSource(flags);
  const p = new Progress();
  const data = flags.demo ? await demoDataWithProgress(flags.cacheDir, p) : flags.data;
  const out = flags.out ? resolve(flags.out) : defaultRunDir('sim');
  const settings = simulationSettings(flags, data);
  const model: Record<string, unknown> = { ...settings.model };
  const head: Record<string, unknown> = {};
  if (flags.activation) head.activation = flags.activation;
  if (flags.dropout !== undefined) head.dropout = flags.dropout;
  if (Object.keys(head).length) model.head = head;
  if (flags.optimizer || flags.lr) model.optimizer = { ...(flags.optimizer ? { name: flags.optimizer } : {}), ...(flags.lr ? { learningRate: flags.lr } : {}) };
  const imageSize = model.imageSize;

  const { Simulation } = await import('@fedxray/simulation');
  const options = Simulation.parse({
    ...settings,
    model,
    out,
    baseline: !!flags.baseline,
    fineTune: !!flags.fineTune,
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
  sim.on('plan', ({ hospitals, classes, localLoss, strategy }) => {
    const serverLr = typeof strategy.serverLearningRate === 'number' ? ` (server lr ${strategy.serverLearningRate})` : '';
    p.line(
      `Federation: ${plural(hospitals.length, 'hospital')}, ${plural(options.rounds, 'round')} × ${plural(options.localEpochs, 'local epoch')}, ${flags.arch} ${imageSize}×${imageSize}, strategy ${String(strategy.name)}${serverLr}, local loss ${formatLocalLoss(localLoss)}, partition ${
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
  // One line per failed job, whichever side tells first: the hospital (an in-process one reports its own error) or the coordinator.
  const failed = new Set<string>();
  const failedLine = (hospital: string, phase: string | undefined, r: number | undefined, error: string) => {
    const key = `${hospital}:${phase}:${r}`;
    if (phase && failed.has(key)) return;
    failed.add(key);
    p.line(`  FAILED ${hospital}: ${phase ? `${phase} in round ${r}` : 'outside a job'}: ${error}`);
  };
  sim.on('hospitalFailed', ({ hospital, phase, round: r, error }) => failedLine(hospital, phase, r, error));
  sim.on('jobFailed', ({ hospital, phase, round: r, error }) => failedLine(hospital, phase, r, error));
  sim.on('fitResult', ({ hospital, ok, metrics, examples }) => {
    if (ok) p.line(`  ${hospital}: trained on ${examples} images, loss ${fmt(metrics!.loss)}, accuracy ${fmt(metrics!.accuracy)}`);
  });
  sim.on('roundFailed', ({ round: r, reason }) => p.line(`Round ${r} failed: ${reason}; retrying`));
  sim.on('roundEnd', (rec) => {
    const m = rec.metrics;
    const used = rec.fit.discarded.length ? ` (the strategy used ${rec.fit.used.join(', ')}; discarded ${rec.fit.discarded.join(', ')})` : '';
    if (!m) p.line(`Round ${rec.round} done in ${seconds(rec.durationMs)}${used}${rec.evaluationError ? `: not evaluated: ${rec.evaluationError}` : ''}`);
    else {
      p.line(
        `Round ${rec.round} done in ${seconds(rec.durationMs)}${used}: global model on ${m.examples} test images: accuracy ${fmt(m.accuracy)}, loss ${fmt(m.loss)}, balanced accuracy ${fmt(m.balancedAccuracy)}, macro AUC ${fmt(m.macroAuc)}`,
      );
    }
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
    r.fit.transport ? megabytes(r.fit.transport.uploadBytes) : '—',
    seconds(r.durationMs),
  ]);
  p.line('');
  p.line(table(['round', 'train loss', 'train acc', 'test loss', 'test acc', 'bal. acc', 'macro AUC', 'uploaded', 'time'], rows));
  const f = result.result.final;
  // Resident memory of this process: the coordinator and every hospital in it (worker threads included), not --processes children.
  const took = `Took ${seconds(Date.now() - started)}, peak memory ${result.peakRssMB} MB (resident, this process: coordinator${options.processes ? '' : ' and hospitals'})`;
  if (result.result.status !== 'complete') {
    p.line(took);
    throw new Error(`The federation did not finish: ${result.result.error ?? result.result.status}. Partial results are in ${relative(process.cwd(), out) || '.'}`);
  }
  p.line('');
  p.line(`Final global model: test accuracy ${fmt(f?.accuracy)}, loss ${fmt(f?.loss)} over ${f?.examples ?? 0} images (pooled across every hospital's test split)`);
  const dp = (result.summary as { privacy?: { dp?: { epsilon: number; delta: number; rounds: number } | null } }).privacy?.dp;
  if (dp) p.line(`Differential privacy: ε = ${fmt(dp.epsilon)} at δ = ${dp.delta} after ${dp.rounds} rounds (summary.json privacy.dp)`);
  if (result.baseline) p.line(`Centralized baseline: test accuracy ${fmt(result.baseline.accuracy)}, loss ${fmt(result.baseline.loss)} (${result.baseline.epochs} epochs)`);
  if (result.personalised) {
    p.line("Per hospital, test accuracy on the hospital's own test split:");
    p.line(table(['hospital', 'test images', 'global', 'fine-tuned', 'alone'], result.personalised.hospitals.map((h) => [h.hospital, String(h.testImages), fmt(h.global.accuracy), fmt(h.fineTuned?.accuracy), fmt(h.alone?.accuracy)])));
  }
  p.line(`${took}. Run directory: ${relative(process.cwd(), out) || '.'} (model/, summary.json, report.md)`);
  if (flags.json) process.stdout.write(`${JSON.stringify(result.summary, null, 2)}\n`);
}
