import { Command, Option } from 'commander';
import { join, resolve } from 'node:path';
import { plural } from '@fedxray/runtime';
import { UsageError, parseIntOption } from '../usage';
import { HospitalLog } from '../lib/hospital-log';

/** `--classes a,b,c` as a list (undefined when not given); an empty or repeated name is refused. */
export function parseClassList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const names = value.split(',').map((s) => s.trim());
  if (names.some((n) => n === '')) throw new UsageError(`Expected --classes to be comma-separated class names, but got "${value}"`);
  const repeated = names.filter((n, i) => names.indexOf(n) !== i);
  if (repeated.length > 0) throw new UsageError(`Expected distinct names in --classes, but ${[...new Set(repeated)].join(', ')} ${repeated.length === 1 ? 'is' : 'are'} repeated`);
  return names;
}

export function hospitalCommand(): Command {
  return new Command('hospital')
    .description("Join a federation: train on this hospital's own X-rays and send back only weights and aggregate metrics")
    .requiredOption('--coordinator <url>', 'coordinator URL, e.g. https://coordinator.example.org:8080')
    .option('--token <token>', 'hospital token from `fedxray coordinator add-hospital` (or set FEDXRAY_TOKEN)')
    .requiredOption('--data <dir>', 'images in class folders, or train/ val/ test/ folders with class folders')
    .option('--classes <names>', "the run's class names in its order (comma-separated), as the coordinator's operator gives them; this folder may lack some, but a folder they do not name is refused (default: the folder names)")
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(['auto', 'gpu', 'node', 'wasm', 'cpu']).default('auto'))
    .option('--no-augment', 'train without augmentation')
    .option('--balance <target>', "balance classes per epoch: 'max', 'none' or a count", 'max')
    .option('--max-repeat <n>', "most times one image may appear in a balanced epoch (default 2; 0 = no bound, the study's balancing)", parseIntOption('--max-repeat', 0))
    .option('--ca <pem>', "trust this CA certificate for the coordinator's TLS")
    .option('--cert <pem>', 'client certificate from `fedxray coordinator add-hospital NAME --certificate`: prove who this hospital is with mutual TLS instead of a token')
    .option('--key <pem>', "the client certificate's private key")
    .option('--seed <n>', 'seed for the local split and shuffling', parseIntOption('--seed', 0), 0)
    .option('--no-worker', 'train on the main thread (heartbeats pause while a batch runs)')
    .option('--withhold-metrics', 'send no training loss or accuracy (with updates or in progress); the coordinator records none for this hospital')
    .option('--mask-frames', 'mask websocket frames with random keys, as browsers do (default: a zero key, so uploads skip a copy)')
    .option('--threads <n>', "extra training threads: 'auto' (one per core on wasm, none on native backends) or a number", 'auto')
    .option('--micro-batch <n>', 'images per forward/backward pass; larger batches accumulate gradients (default: 4 at 224×224)', parseIntOption('--micro-batch', 1))
    .addOption(new Option('--normalize <mode>', "pixel scaling when the run does not set it: rescale (x/255, the study's) or imagenet (ImageNet mean and standard deviation, for ImageNet-pretrained backbones)").choices(['rescale', 'imagenet']).default('rescale'))
    .option('--cache-dir <dir>', "where the frozen backbone's features of this hospital's images are kept while only the head trains (default: ~/.cache/fedxray/hospital)")
    .addOption(new Option('--log <format>', 'log format: pretty lines, or one JSON object per line').choices(['pretty', 'json']).default('pretty'))
    .option('--progress-every <s>', 'without a terminal (systemd, docker, nohup), write a progress line this often, in seconds', parseIntOption('--progress-every', 1), 60)
    .option('--give-up-after <s>', 'give up when a cause retrying cannot fix (wrong port or URL, untrusted certificate, http/https mismatch) lasts this long, in seconds; an unreachable coordinator is waited for without end', parseIntOption('--give-up-after', 0), 60)
    .action(async (flags) => {
      const certificate = flags.cert !== undefined || flags.key !== undefined;
      const token = certificate ? flags.token : (flags.token ?? process.env.FEDXRAY_TOKEN);
      if (!token && !certificate) throw new UsageError('Give the hospital token with --token or the FEDXRAY_TOKEN environment variable, or a client certificate with --cert and --key');
      if (certificate && (!flags.cert || !flags.key)) throw new UsageError(`A client certificate needs both --cert and --key, but got only ${flags.cert ? '--cert' : '--key'}`);
      if (certificate && token) throw new UsageError('Give --token or --cert with --key, not both');
      if (certificate && !String(flags.coordinator).startsWith('https://')) throw new UsageError(`A client certificate is presented over TLS only: give an https:// coordinator URL, but got ${flags.coordinator}`);
      const balance = flags.balance === 'max' || flags.balance === 'none' ? flags.balance : Number(flags.balance);
      if (typeof balance === 'number' && !(Number.isInteger(balance) && balance > 0)) {
        throw new UsageError(`Expected --balance to be max, none or a positive integer, but got ${flags.balance}`);
      }
      const { Hospital } = await import('@fedxray/hospital');
      const { fedxrayCacheDir } = await import('@fedxray/model');
      const log = new HospitalLog(flags.log, flags.progressEvery * 1000);
      const h = await Hospital.start({
        coordinator: flags.coordinator,
        token,
        worker: flags.worker,
        ca: flags.ca,
        cert: flags.cert,
        key: flags.key,
        maskFrames: flags.maskFrames === true,
        withholdMetrics: flags.withholdMetrics === true,
        giveUpAfterMs: flags.giveUpAfter * 1000,
        trainer: {
          data: { dir: resolve(flags.data), splitSeed: flags.seed, classes: parseClassList(flags.classes) },
          backend: flags.backend,
          augment: flags.augment,
          balance,
          maxRepeat: flags.maxRepeat,
          normalize: flags.normalize,
          seed: flags.seed,
          threads: flags.threads === 'auto' ? 'auto' : parseIntOption('--threads', 0)(flags.threads),
          microBatch: flags.microBatch,
          cacheDir: resolve(flags.cacheDir ?? join(fedxrayCacheDir(), 'hospital')),
        },
      });
      const f = h.trainer.facts();
      log.info(
        'data',
        `Hospital data: images of ${plural(f.withImages.length, 'class', 'classes')} (${f.withImages.join(', ')}), train ${f.examples.train}, val ${f.examples.val}, test ${f.examples.test}${f.skipped ? `, ${f.skipped} unreadable files skipped` : ''}; backend ${h.trainer.backend()}; normalize ${h.config.trainer.normalize}`,
        { classes: f.withImages, examples: f.examples, skipped: f.skipped, backend: h.trainer.backend(), normalize: h.config.trainer.normalize },
      );
      log.attach(h, flags.coordinator);
      const stop = () => void h.close().then(() => process.exit(130));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const end = await h.done;
      log.info('finished', `Federation over: ${end.reason}`, { ...end });
    });
}
