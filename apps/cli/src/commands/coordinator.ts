import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError, parseFloatOption, parseIntOption } from '../usage';
import { Progress, fmt, seconds } from '../lib/progress';
import { dashboardDir } from '../lib/dashboard';
import { describeFinish, finishedExitCode } from '../lib/run-finish';
import type { RunResult } from '@fedxray/coordinator';

const DATA_DIR_HELP = 'coordinator data directory: run store, checkpoints, reports';

function readConfigFile(path: string | undefined): Record<string, any> {
  if (!path) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`Cannot read --config ${path}: ${err instanceof Error ? err.message : err}`);
  }
}

/** Where each flag goes in the coordinator's config, and how its value is written there. */
const FLAG_FIELDS: [flag: string, path: string[], value?: (v: any) => unknown][] = [
  ['host', ['host']],
  ['port', ['port']],
  ['rounds', ['rounds']],
  ['fractionFit', ['fractionFit']],
  ['minHospitalClasses', ['minHospitalClasses']],
  ['maxFailures', ['maxFailures']],
  ['roundTimeout', ['roundTimeoutMs'], (s: number) => s * 1000],
  ['localEpochs', ['fit', 'localEpochs']],
  ['batchSize', ['fit', 'batchSize']],
  ['float16', ['fit', 'weightsDtype'], () => 'float16'],
  ['strategy', ['strategy', 'name']],
  ['fedbn', ['strategy', 'batchNorm'], () => 'local'],
  ['arch', ['model', 'arch']],
  ['imageSize', ['model', 'imageSize']],
  ['maxUpdateNorm', ['maxUpdateNorm']],
  ['insecure', ['allowInsecure'], () => true],
  ['runId', ['runId']],
  ['newRun', ['newRun'], () => true],
  ['crossSite', ['crossSiteEvaluation'], () => true],
  ['dashboardToken', ['dashboardToken']],
];

function has(obj: Record<string, any>, path: string[]): boolean {
  return path.reduce<any>((o, k) => (o && typeof o === 'object' ? o[k] : undefined), obj) !== undefined;
}

function put(obj: Record<string, any>, path: string[], value: unknown): void {
  const last = path.at(-1)!;
  let o = obj;
  for (const k of path.slice(0, -1)) o = o[k] = { ...(o[k] ?? {}) };
  o[last] = value;
}

/**
 * The coordinator config from --config and the flags: a flag given on the
 * command line wins; a flag's default applies only where the file is silent.
 */
function coordinatorConfig(flags: Record<string, any>, command: Command, file: Record<string, any>): Record<string, any> & { model: Record<string, unknown> } {
  const config: Record<string, any> & { model: Record<string, unknown> } = { ...structuredClone(file), model: { ...(file.model ?? {}) } };
  const given = (flag: string) => command.getOptionValueSource(flag) === 'cli';
  for (const [flag, path, value] of FLAG_FIELDS) {
    if (flags[flag] === undefined || (!given(flag) && has(file, path))) continue;
    put(config, path, value ? value(flags[flag]) : flags[flag]);
  }
  if (given('minHospitals') || !has(file, ['minAvailable'])) {
    config.minAvailable = flags.minHospitals;
    config.minFit = Math.min(flags.minHospitals, file.minFit ?? flags.minHospitals);
  }
  if (flags.tlsCert || flags.tlsKey) config.tls = { cert: flags.tlsCert, key: flags.tlsKey };
  const classes = flags.classes ? String(flags.classes).split(',').map((s: string) => s.trim()).filter(Boolean) : file.model?.classes;
  if (!classes || classes.length < 2) throw new UsageError('Give the class names with --classes a,b,c (at least two), or model.classes in --config');
  put(config, ['model', 'classes'], classes);
  return config;
}

export function coordinatorCommand(): Command {
  const cmd = new Command('coordinator').description('Run a coordinator, and manage the hospitals allowed to join it');
  cmd
    .command('start', { isDefault: true })
    .description('Serve hospitals and run (or resume) a federated training run')
    .option('--data-dir <dir>', DATA_DIR_HELP, 'fedxray-data')
    .option('--config <file>', 'JSON coordinator config (see docs/FEDERATION.md); flags given on the command line win')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port (0 = any free port)', parseIntOption('--port', 0), 8080)
    .option('--tls-cert <pem>', 'TLS certificate (PEM)')
    .option('--tls-key <pem>', 'TLS private key (PEM)')
    .option('--insecure', 'allow plain HTTP on a non-loopback address (only behind a TLS-terminating proxy)')
    .option('--classes <names>', 'comma-separated class names, in output order (required unless in --config)')
    .option('--arch <arch>', 'densenet121 | densenet169 | densenet201 | densenet-small | densenet-tiny', 'densenet121')
    .option('--image-size <px>', 'model input size', parseIntOption('--image-size', 8), 224)
    .option('--rounds <n>', 'federated rounds', parseIntOption('--rounds', 1), 10)
    .option('--min-hospitals <n>', 'hospitals that must be connected before a round starts', parseIntOption('--min-hospitals', 1), 2)
    .option('--min-hospital-classes <n>', "classes a hospital must have images of to join (any subset of --classes otherwise); 1 lets one-class hospitals join", parseIntOption('--min-hospital-classes', 1), 1)
    .option('--fraction-fit <f>', 'fraction of connected hospitals sampled per round', parseFloatOption('--fraction-fit'), 1)
    .option('--local-epochs <n>', 'epochs each hospital trains per round', parseIntOption('--local-epochs', 1), 1)
    .option('--batch-size <n>', 'training batch size at hospitals', parseIntOption('--batch-size', 1), 32)
    .option('--strategy <name>', 'aggregation strategy (docs/AGGREGATION.md)', 'fedavg')
    .option('--fedbn', "keep BatchNorm layers local to each hospital (FedBN: the strategy's batchNorm: local)")
    .option('--max-update-norm <x>', 'refuse updates further than this (L2) from the global model', parseFloatOption('--max-update-norm'))
    .option('--round-timeout <s>', 'seconds a round may take before stragglers count as failed', parseIntOption('--round-timeout', 1), 3600)
    .option('--max-failures <k>', 'failed hospitals tolerated per round', parseIntOption('--max-failures', 0), 1)
    .option('--run-id <id>', 'the run to resume (with its own settings), or the name of a new one')
    .option('--new-run', 'start a new run even though --data-dir holds an unfinished one (it stays, to resume later with --run-id)')
    .option('--cross-site', 'after the last round, evaluate every hospital’s local model at every site')
    .option('--float16', 'send weights as float16 (half the bytes)')
    .option('--dashboard-token <t>', 'token that lets non-loopback browsers read the dashboard')
    .option('--exit-when-done', 'exit when the run ends (default: keep serving the dashboard, API and model read-only until stopped)')
    .addOption(new Option('--log <format>', 'log format').choices(['pretty', 'json']).default('pretty'))
    .action(async (flags, command: Command) => {
      const { Coordinator, ConfigError, createLogger } = await import('@fedxray/coordinator');
      const config = { ...coordinatorConfig(flags, command, readConfigFile(flags.config)), dataDir: resolve(flags.dataDir), dashboardDir: dashboardDir() };
      const logger = createLogger(flags.log);
      const p = new Progress();
      const c = await Coordinator.start(config, { logger }).catch((err) => {
        throw err instanceof ConfigError ? new UsageError(err.message) : err;
      });
      p.line(`Coordinator for run ${c.runId} listening on ${c.url}`);
      p.line(`Dashboard: ${c.url}/   API: ${c.url}/api/state   Prometheus: ${c.url}/metrics`);
      c.on('roundEnd', (r) => p.line(`Round ${r.round} done in ${seconds(r.durationMs)}: accuracy ${fmt(r.metrics?.accuracy)}, loss ${fmt(r.metrics?.loss)}`));
      let finished: RunResult | null = null;
      const stop = () => {
        if (finished) {
          p.line(`Stopped serving run ${finished.runId}`);
          void c.close().then(() => process.exit(finishedExitCode(finished!)));
          return;
        }
        p.line('Stopping: the run can be resumed by starting the coordinator again with the same --data-dir');
        void c.stop().then(() => process.exit(130));
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      const result = await c.done;
      if (result.status === 'stopped') return new Promise<never>(() => {});
      finished = result;
      p.line(describeFinish(result));
      if (flags.exitWhenDone) {
        await c.close();
        if (result.status !== 'complete') throw new Error(`Run ${result.runId} ${result.status}: ${result.error}`);
        return;
      }
      p.line(`Still serving the dashboard, the API and /model/ (read-only) at ${c.url}/ until stopped with Ctrl-C or SIGTERM (--exit-when-done exits instead)`);
      return new Promise<never>(() => {});
    });

  cmd
    .command('add-hospital <name>')
    .description('Register a hospital and print its token (shown once; stored only as a hash)')
    .option('--data-dir <dir>', DATA_DIR_HELP, 'fedxray-data')
    .action(async (name: string, flags) => {
      const { RunStore, HospitalRegistry } = await import('@fedxray/coordinator');
      const store = new RunStore(resolve(flags.dataDir));
      try {
        const token = new HospitalRegistry(store).add(name);
        process.stdout.write(`${token}\n`);
        process.stderr.write(`Hospital ${name} registered. Give it this token over a secure channel; it is not shown again.\n`);
      } catch (err) {
        throw new UsageError(err instanceof Error ? err.message : String(err));
      } finally {
        store.close();
      }
    });

  cmd
    .command('remove-hospital <name>')
    .description("Revoke a hospital's token")
    .option('--data-dir <dir>', DATA_DIR_HELP, 'fedxray-data')
    .action(async (name: string, flags) => {
      const { RunStore, HospitalRegistry } = await import('@fedxray/coordinator');
      const store = new RunStore(resolve(flags.dataDir));
      try {
        if (!new HospitalRegistry(store).remove(name)) throw new UsageError(`No active hospital named ${name}`);
        process.stderr.write(`Hospital ${name} revoked.\n`);
      } finally {
        store.close();
      }
    });

  cmd
    .command('list-hospitals')
    .description('List registered hospitals')
    .option('--data-dir <dir>', DATA_DIR_HELP, 'fedxray-data')
    .option('--json', 'print JSON')
    .action(async (flags) => {
      const { RunStore, HospitalRegistry } = await import('@fedxray/coordinator');
      const store = new RunStore(resolve(flags.dataDir));
      try {
        const list = new HospitalRegistry(store).list();
        if (flags.json) process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        else for (const h of list) process.stdout.write(`${h.name}\t${h.revokedAt ? 'revoked' : 'active'}\tsince ${new Date(h.createdAt).toISOString()}\n`);
      } finally {
        store.close();
      }
    });
  return cmd;
}
