import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError, parseFloatOption, parseIntOption } from '../usage';
import { Progress, fmt, seconds } from '../lib/progress';
import { dashboardDir } from '../lib/dashboard';

const DATA_DIR_HELP = 'coordinator data directory: run store, checkpoints, reports';

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
    .option('--fraction-fit <f>', 'fraction of connected hospitals sampled per round', parseFloatOption('--fraction-fit'), 1)
    .option('--local-epochs <n>', 'epochs each hospital trains per round', parseIntOption('--local-epochs', 1), 1)
    .option('--batch-size <n>', 'training batch size at hospitals', parseIntOption('--batch-size', 1), 32)
    .option('--strategy <name>', 'aggregation strategy', 'fedavg')
    .option('--fedbn', 'keep BatchNorm layers local to each hospital (FedBN)')
    .option('--max-update-norm <x>', 'refuse updates further than this (L2) from the global model', parseFloatOption('--max-update-norm'))
    .option('--round-timeout <s>', 'seconds a round may take before stragglers count as failed', parseIntOption('--round-timeout', 1), 3600)
    .option('--max-failures <k>', 'failed hospitals tolerated per round', parseIntOption('--max-failures', 0), 1)
    .option('--run-id <id>', 'name of the run (resumes it if unfinished)')
    .option('--cross-site', 'after the last round, evaluate every hospital’s local model at every site')
    .option('--float16', 'send weights as float16 (half the bytes)')
    .option('--dashboard-token <t>', 'token that lets non-loopback browsers read the dashboard')
    .addOption(new Option('--log <format>', 'log format').choices(['pretty', 'json']).default('pretty'))
    .action(async (flags, command: Command) => {
      const { Coordinator, createLogger } = await import('@fedxray/coordinator');
      let fileConfig: Record<string, any> = {};
      if (flags.config) {
        try {
          fileConfig = JSON.parse(readFileSync(flags.config, 'utf8'));
        } catch (err) {
          throw new UsageError(`Cannot read --config ${flags.config}: ${err instanceof Error ? err.message : err}`);
        }
      }
      const given = (k: string) => command.getOptionValueSource(k) === 'cli' || fileConfig[k] === undefined;
      const classes = flags.classes ? String(flags.classes).split(',').map((s: string) => s.trim()).filter(Boolean) : fileConfig.model?.classes;
      if (!classes || classes.length < 2) throw new UsageError('Give the class names with --classes a,b,c (at least two), or model.classes in --config');
      const config = {
        ...fileConfig,
        dataDir: resolve(flags.dataDir),
        ...(given('host') ? { host: flags.host } : {}),
        ...(given('port') ? { port: flags.port } : {}),
        ...(flags.tlsCert || flags.tlsKey ? { tls: { cert: flags.tlsCert, key: flags.tlsKey } } : {}),
        ...(flags.insecure ? { allowInsecure: true } : {}),
        ...(given('rounds') ? { rounds: flags.rounds } : {}),
        ...(given('minHospitals') ? { minAvailable: flags.minHospitals, minFit: Math.min(flags.minHospitals, fileConfig.minFit ?? flags.minHospitals) } : {}),
        ...(given('fractionFit') ? { fractionFit: flags.fractionFit } : {}),
        ...(given('maxFailures') ? { maxFailures: flags.maxFailures } : {}),
        ...(given('roundTimeout') ? { roundTimeoutMs: flags.roundTimeout * 1000 } : {}),
        fit: {
          ...(fileConfig.fit ?? {}),
          ...(given('localEpochs') ? { localEpochs: flags.localEpochs } : {}),
          ...(given('batchSize') ? { batchSize: flags.batchSize } : {}),
          ...(flags.float16 ? { weightsDtype: 'float16' } : {}),
        },
        ...(given('strategy') ? { strategy: { ...(fileConfig.strategy ?? {}), name: flags.strategy } } : {}),
        ...(flags.fedbn ? { keepBatchNormLocal: true } : {}),
        ...(flags.maxUpdateNorm ? { maxUpdateNorm: flags.maxUpdateNorm } : {}),
        ...(flags.runId ? { runId: flags.runId } : {}),
        ...(flags.crossSite ? { crossSiteEvaluation: true } : {}),
        ...(flags.dashboardToken ? { dashboardToken: flags.dashboardToken } : {}),
        model: {
          ...(fileConfig.model ?? {}),
          classes,
          ...(command.getOptionValueSource('arch') === 'cli' || fileConfig.model?.arch === undefined ? { arch: flags.arch } : {}),
          ...(command.getOptionValueSource('imageSize') === 'cli' || fileConfig.model?.imageSize === undefined ? { imageSize: flags.imageSize } : {}),
        },
        dashboardDir: dashboardDir(),
      };
      const logger = createLogger(flags.log);
      const p = new Progress();
      const c = await Coordinator.start(config, { logger });
      p.line(`Coordinator for run ${c.runId} listening on ${c.url}`);
      p.line(`Dashboard: ${c.url}/   API: ${c.url}/api/state   Prometheus: ${c.url}/metrics`);
      c.on('roundEnd', (r) => p.line(`Round ${r.round} done in ${seconds(r.durationMs)}: accuracy ${fmt(r.metrics?.accuracy)}, loss ${fmt(r.metrics?.loss)}`));
      const stop = () => {
        p.line('Stopping: the run can be resumed by starting the coordinator again with the same --data-dir');
        void c.stop().then(() => process.exit(130));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const result = await c.done;
      await c.close();
      if (result.status !== 'complete') throw new Error(`Run ${result.runId} ${result.status}: ${result.error}`);
      p.line(`Run ${result.runId} complete: final accuracy ${fmt(result.final?.accuracy)}; model in ${result.modelDir}`);
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
