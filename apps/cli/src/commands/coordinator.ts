import { Command, Option } from 'commander';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError, parseFloatOption, parseIntOption } from '../usage';
import { Progress, fmt, seconds } from '../lib/progress';
import { dashboardDir } from '../lib/dashboard';
import { headCalibrationOf, headCalibrationOption, localLossOf, localLossOption, maxWeightOption, serverLrOption } from '../lib/run-options';
import { PRIVACY_OPTIONS, privacySettings } from '../lib/privacy-options';
import { describeFinish, finishedExitCode } from '../lib/run-finish';
import type { RunResult } from '@fedxray/coordinator';
import { DEFAULT_LOCAL_EPOCHS } from '@fedxray/protocol';

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
  ['localLoss', ['fit', 'localLoss'], localLossOf],
  ['headCalibration', ['headCalibration'], headCalibrationOf],
  ['strategy', ['strategy', 'name']],
  ['fedbn', ['strategy', 'batchNorm'], () => 'local'],
  ['maxWeight', ['strategy', 'maxWeight']],
  ['serverLr', ['strategy', 'serverLearningRate']],
  ['arch', ['model', 'arch']],
  ['imageSize', ['model', 'imageSize']],
  ['maxUpdateNorm', ['maxUpdateNorm']],
  ['insecure', ['allowInsecure'], () => true],
  ['runId', ['runId']],
  ['newRun', ['newRun'], () => true],
  ['crossSite', ['crossSiteEvaluation'], () => true],
  ['dashboardToken', ['dashboardToken']],
  ['trustProxy', ['trustProxy'], (list: string) => list.split(',').map((a) => a.trim()).filter(Boolean)],
  ['helloTimeout', ['helloTimeoutMs'], (s: number) => s * 1000],
  ['authFailureLimit', ['authFailureLimit']],
  ['maxDashboards', ['maxDashboardConnections']],
  ['weights', ['weights']],
  ['trainable', ['trainable']],
  ['schedule', ['schedule']],
  ['normalize', ['model', 'normalize']],
];

/** `--preset study` in the coordinator's config: what the run computes with (see PRESETS; the hospitals bring data and augmentation). */
const STUDY_CONFIG: [path: string[], value: unknown][] = [
  [['model', 'arch'], 'densenet121'],
  [['model', 'imageSize'], 224],
  [['model', 'output'], 'sigmoid'],
  [['model', 'normalize'], 'imagenet'],
  [['weights'], 'imagenet'],
  [['trainable'], 'head'],
  [['fit', 'batchSize'], 64],
];

function has(obj: Record<string, any>, path: string[]): boolean {
  return path.reduce<any>((o, k) => (o && typeof o === 'object' ? o[k] : undefined), obj) !== undefined;
}

function put(obj: Record<string, any>, path: string[], value: unknown): void {
  const last = path.at(-1)!;
  let o = obj;
  for (const k of path.slice(0, -1)) o = o[k] = { ...(o[k] ?? {}) };
  // a flag that sets several fields of a section (--head-calibration) keeps the file's others
  const merge = value !== null && typeof value === 'object' && !Array.isArray(value) && o[last] !== null && typeof o[last] === 'object' && !Array.isArray(o[last]);
  o[last] = merge ? { ...o[last], ...value } : value;
}

/**
 * The coordinator config from --config and the flags: a flag given on the
 * command line wins; a flag's default applies only where the file is silent.
 */
export function coordinatorConfig(flags: Record<string, any>, command: Command, file: Record<string, any>): Record<string, any> & { model: Record<string, unknown> } {
  const config: Record<string, any> & { model: Record<string, unknown> } = { ...structuredClone(file), model: { ...(file.model ?? {}) } };
  const given = (flag: string) => command.getOptionValueSource(flag) === 'cli';
  for (const [flag, path, value] of FLAG_FIELDS) {
    if (flags[flag] === undefined || (!given(flag) && has(file, path))) continue;
    put(config, path, value ? value(flags[flag]) : flags[flag]);
  }
  if (flags.preset === 'study') {
    const flagOf = new Map(FLAG_FIELDS.map(([flag, path]) => [path.join('.'), flag]));
    for (const [path, value] of STUDY_CONFIG) {
      const flag = flagOf.get(path.join('.'));
      if (!(flag && given(flag)) && !has(file, path)) put(config, path, value);
    }
  }
  if (given('minHospitals') || !has(file, ['minAvailable'])) {
    config.minAvailable = flags.minHospitals;
    config.minFit = Math.min(flags.minHospitals, file.minFit ?? flags.minHospitals);
  }
  if (flags.tlsCert || flags.tlsKey) config.tls = { cert: flags.tlsCert, key: flags.tlsKey };
  const classes = flags.classes ? String(flags.classes).split(',').map((s: string) => s.trim()).filter(Boolean) : file.model?.classes;
  if (!classes || classes.length < 2) throw new UsageError('Give the class names with --classes a,b,c (at least two), or model.classes in --config');
  put(config, ['model', 'classes'], classes);
  // The privacy flags replace the file's sections when given.
  Object.assign(config, privacySettings(flags));
  return config;
}

/**
 * Issues `name` a client certificate from the federation CA of `dataDir` and
 * registers its fingerprint; the certificate and key are written to `out`
 * (the key mode 0600), never kept by the coordinator.
 */
async function issueCertificate(
  registry: import('@fedxray/coordinator').HospitalRegistry,
  dataDir: string,
  name: string,
  options: { rotate: boolean; out: string; days: number },
): Promise<{ fingerprint: string; cert: string; key: string }> {
  const { FederationCa, writePrivateKey } = await import('@fedxray/coordinator');
  registry.checkIssue(name, 'certificate', options);
  const cert = join(options.out, `${name}.cert.pem`);
  const key = join(options.out, `${name}.key.pem`);
  for (const path of [cert, key]) if (existsSync(path)) throw new UsageError(`${path} exists already; move it away or give another --out`);
  const ca = await FederationCa.open(dataDir);
  const issued = await ca.issue({ commonName: name, use: 'client', days: options.days });
  mkdirSync(options.out, { recursive: true });
  writePrivateKey(key, issued.keyPem);
  writeFileSync(cert, issued.certPem, { flag: 'wx' });
  registry.addCertificate(name, issued.fingerprint, options);
  return { fingerprint: issued.fingerprint, cert, key };
}

export function coordinatorCommand(): Command {
  const cmd = new Command('coordinator').description('Run a coordinator, and manage the hospitals allowed to join it');
  const start = cmd
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
    .option('--local-epochs <n>', 'epochs each hospital trains per round', parseIntOption('--local-epochs', 1), DEFAULT_LOCAL_EPOCHS)
    .option('--batch-size <n>', 'training batch size at hospitals', parseIntOption('--batch-size', 1), 32)
    .option('--strategy <name>', 'aggregation strategy (docs/AGGREGATION.md)', 'fedavg')
    .option('--fedbn', "keep BatchNorm layers local to each hospital (FedBN: the strategy's batchNorm: local)")
    .addOption(maxWeightOption())
    .addOption(serverLrOption())
    .addOption(localLossOption())
    .addOption(headCalibrationOption())
    .option('--max-update-norm <x>', "refuse updates whose trainable weights are further than this (L2) from the global model's", parseFloatOption('--max-update-norm'))
    .option('--round-timeout <s>', 'seconds a round may take before stragglers count as failed', parseIntOption('--round-timeout', 1), 3600)
    .option('--max-failures <k>', 'failed hospitals tolerated per round', parseIntOption('--max-failures', 0), 1)
    .option('--run-id <id>', 'the run to resume (with its own settings), or the name of a new one')
    .option('--new-run', 'start a new run even though --data-dir holds an unfinished one (it stays, to resume later with --run-id)')
    .option('--cross-site', 'after the last round, evaluate every hospital’s local model at every site')
    .option('--float16', 'send weights as float16 (half the bytes)')
    .option('--weights <source>', "starting weights: random (default), imagenet (fetched into ~/.cache/fedxray), a Keras .h5 file or a model folder (e.g. an earlier run's model/)")
    .option('--trainable <what>', 'what trains at the hospitals: all, head or from:<keras layer name>; frozen tensors are neither sent back nor aggregated')
    .option('--schedule <spec>', 'what trains round by round, e.g. head:3,all:7 (instead of --trainable)')
    .addOption(new Option('--normalize <mode>', 'pixel normalisation hospitals apply: rescale (x/255) or imagenet (default with --weights imagenet)').choices(['rescale', 'imagenet']))
    .addOption(new Option('--preset <name>', "the study's setting: densenet121 at 224 px from ImageNet weights, head trained, sigmoid output, batch 64 (flags and --config win)").choices(['study']))
    .option('--dashboard-token <t>', 'token that lets browsers other than this machine’s read the dashboard and API')
    .option('--trust-proxy <addrs>', 'comma-separated addresses of the reverse proxies whose X-Forwarded-For is believed (docs/FEDERATION.md)')
    .option('--hello-timeout <s>', 'seconds a new connection has to authenticate and say hello', parseIntOption('--hello-timeout', 1))
    .option('--auth-failure-limit <n>', 'wrong tokens an address may send before it is refused for a growing interval', parseIntOption('--auth-failure-limit', 1))
    .option('--max-dashboards <n>', 'dashboard sockets open at once', parseIntOption('--max-dashboards', 1))
    .option('--exit-when-done', 'exit when the run ends (default: keep serving the dashboard, API and model read-only until stopped)')
    .addOption(new Option('--log <format>', 'log format').choices(['pretty', 'json']).default('pretty'));
  for (const { option } of PRIVACY_OPTIONS) start.addOption(option);
  start.action(async (flags, command: Command) => {
      const { Coordinator, ConfigError, createLogger } = await import('@fedxray/coordinator');
      const config = { ...coordinatorConfig(flags, command, readConfigFile(flags.config)), dataDir: resolve(flags.dataDir), dashboardDir: dashboardDir() };
      const logger = createLogger(flags.log);
      const p = new Progress();
      // Signals are handled from the start: a Ctrl-C while the coordinator is still starting stops it as soon as it has.
      let c: Awaited<ReturnType<typeof Coordinator.start>> | null = null;
      let finished: RunResult | null = null;
      let stopRequested = false;
      const stop = () => {
        if (!c) {
          stopRequested = true;
          return;
        }
        const running = c;
        if (finished) {
          p.line(`Stopped serving run ${finished.runId}`);
          void running.close().then(() => process.exit(finishedExitCode(finished!)));
          return;
        }
        p.line('Stopping: the run can be resumed by starting the coordinator again with the same --data-dir');
        void running.stop().then(() => process.exit(130));
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      c = await Coordinator.start(config, { logger }).catch((err) => {
        throw err instanceof ConfigError ? new UsageError(err.message) : err;
      });
      p.line(`Coordinator for run ${c.runId} listening on ${c.url}`);
      p.line(`Dashboard: ${c.url}/   API: ${c.url}/api/state   Prometheus: ${c.url}/metrics`);
      const uploaded = (t?: { uploadBytes: number }) => (t ? `, updates ${(t.uploadBytes / 1e6).toFixed(1)} MB` : '');
      c.on('roundEnd', (r) => p.line(`Round ${r.round} done in ${seconds(r.durationMs)}: accuracy ${fmt(r.metrics?.accuracy)}, loss ${fmt(r.metrics?.loss)}${uploaded(r.fit.transport)}`));
      if (stopRequested) stop();
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
    .description('Register a hospital and print its token (shown once; stored only as a hash), or with --certificate issue it a client certificate')
    .option('--data-dir <dir>', DATA_DIR_HELP, 'fedxray-data')
    .option('--rotate', 'replace the token (or certificate) of a hospital already registered (or revoked); the old one is then refused as rotated')
    .option('--certificate', "issue a client certificate signed by the federation's CA (made in <data-dir>/pki on first use) instead of a token")
    .option('--out <dir>', 'with --certificate: where to write <name>.cert.pem and <name>.key.pem', '.')
    .option('--valid-days <n>', 'with --certificate: days the certificate is valid', parseIntOption('--valid-days', 1), 365)
    .action(async (name: string, flags) => {
      const { RunStore, HospitalRegistry, RegistryError } = await import('@fedxray/coordinator');
      const dataDir = resolve(flags.dataDir);
      const store = new RunStore(dataDir);
      try {
        const registry = new HospitalRegistry(store);
        const rotate = flags.rotate === true;
        const done = rotate ? 'given a new credential; its old one is refused from now on (a running coordinator disconnects it at once)' : 'registered';
        if (flags.certificate) {
          const issued = await issueCertificate(registry, dataDir, name, { rotate, out: resolve(flags.out), days: flags.validDays });
          process.stdout.write(`${issued.fingerprint}\n`);
          process.stderr.write(
            `Hospital ${name} ${done} with a client certificate (SHA-256 fingerprint above).\n` +
              `  certificate: ${issued.cert}\n  private key: ${issued.key} (mode 0600)\n` +
              `Give both to the hospital over a secure channel; it joins with \`fedxray hospital --cert <certificate> --key <private key>\` over https://.\n`,
          );
          return;
        }
        const token = registry.add(name, { rotate });
        process.stdout.write(`${token}\n`);
        process.stderr.write(`Hospital ${name} ${done}. Give it this token over a secure channel; it is not shown again.\n`);
      } catch (err) {
        throw err instanceof RegistryError || (err instanceof Error && /hospital name/.test(err.message)) ? new UsageError(err.message) : err;
      } finally {
        store.close();
      }
    });

  cmd
    .command('server-certificate')
    .description("Issue the coordinator a TLS server certificate from the federation's CA, so that hospitals trust it with --ca <data-dir>/pki/ca.pem")
    .option('--data-dir <dir>', DATA_DIR_HELP, 'fedxray-data')
    .requiredOption('--hosts <names>', 'comma-separated host names and IP addresses hospitals reach the coordinator at (the first is the common name)')
    .option('--out <dir>', 'where to write coordinator.cert.pem and coordinator.key.pem', '.')
    .option('--valid-days <n>', 'days the certificate is valid', parseIntOption('--valid-days', 1), 365)
    .action(async (flags) => {
      const { FederationCa, caPaths, writePrivateKey } = await import('@fedxray/coordinator');
      const hosts = String(flags.hosts).split(',').map((h) => h.trim()).filter(Boolean);
      if (hosts.length === 0) throw new UsageError('Give at least one host name or address with --hosts');
      const out = resolve(flags.out);
      const cert = join(out, 'coordinator.cert.pem');
      const key = join(out, 'coordinator.key.pem');
      for (const path of [cert, key]) if (existsSync(path)) throw new UsageError(`${path} exists already; move it away or give another --out`);
      const dataDir = resolve(flags.dataDir);
      const issued = await (await FederationCa.open(dataDir)).issue({ commonName: hosts[0], use: 'server', hosts, days: flags.validDays });
      mkdirSync(out, { recursive: true });
      writePrivateKey(key, issued.keyPem);
      writeFileSync(cert, issued.certPem, { flag: 'wx' });
      process.stdout.write(`${cert}\n${key}\n`);
      process.stderr.write(`Serve with --tls-cert ${cert} --tls-key ${key}; hospitals trust it with --ca ${caPaths(dataDir).cert}.\n`);
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
        process.stderr.write(`Hospital ${name} revoked. A coordinator running on this data directory disconnects it within a second, and it is never sampled again.\n`);
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
        else for (const h of list) process.stdout.write(`${h.name}\t${h.revokedAt ? 'revoked' : 'active'}\t${h.credential ?? '-'}\tsince ${new Date(h.createdAt).toISOString()}\n`);
      } finally {
        store.close();
      }
    });
  return cmd;
}
