import { Command, Option } from 'commander';
import { resolve } from 'node:path';
import { UsageError, parseIntOption } from '../usage';
import { HospitalLog } from '../lib/hospital-log';

export function hospitalCommand(): Command {
  return new Command('hospital')
    .description("Join a federation: train on this hospital's own X-rays and send back only weights and aggregate metrics")
    .requiredOption('--coordinator <url>', 'coordinator URL, e.g. https://coordinator.example.org:8080')
    .option('--token <token>', 'hospital token from `fedxray coordinator add-hospital` (or set FEDXRAY_TOKEN)')
    .requiredOption('--data <dir>', 'images in class folders, or train/ val/ test/ folders with class folders')
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(['auto', 'gpu', 'node', 'wasm', 'cpu']).default('auto'))
    .option('--no-augment', 'train without augmentation')
    .option('--balance <target>', "balance classes per epoch: 'max', 'none' or a count", 'max')
    .option('--max-repeat <n>', "most times one image may appear in a balanced epoch (default 2; 0 = no bound, the study's balancing)", parseIntOption('--max-repeat', 0))
    .option('--ca <pem>', "trust this CA certificate for the coordinator's TLS")
    .option('--seed <n>', 'seed for the local split and shuffling', parseIntOption('--seed', 0), 0)
    .option('--no-worker', 'train on the main thread (heartbeats pause while a batch runs)')
    .option('--mask-frames', 'mask websocket frames with random keys, as browsers do (default: a zero key, so uploads skip a copy)')
    .option('--threads <n>', "extra training threads: 'auto' (one per core on wasm, none on native backends) or a number", 'auto')
    .option('--micro-batch <n>', 'images per forward/backward pass; larger batches accumulate gradients (default: 4 at 224×224)', parseIntOption('--micro-batch', 1))
    .addOption(new Option('--normalize <mode>', "pixel scaling: rescale (x/255, the study's) or imagenet (ImageNet mean and standard deviation, for ImageNet-pretrained backbones)").choices(['rescale', 'imagenet']).default('rescale'))
    .addOption(new Option('--log <format>', 'log format: pretty lines, or one JSON object per line').choices(['pretty', 'json']).default('pretty'))
    .option('--progress-every <s>', 'without a terminal (systemd, docker, nohup), write a progress line this often, in seconds', parseIntOption('--progress-every', 1), 60)
    .option('--give-up-after <s>', 'give up when a cause retrying cannot fix (wrong port or URL, untrusted certificate, http/https mismatch) lasts this long, in seconds; an unreachable coordinator is waited for without end', parseIntOption('--give-up-after', 0), 60)
    .action(async (flags) => {
      const token = flags.token ?? process.env.FEDXRAY_TOKEN;
      if (!token) throw new UsageError('Give the hospital token with --token or the FEDXRAY_TOKEN environment variable');
      const balance = flags.balance === 'max' || flags.balance === 'none' ? flags.balance : Number(flags.balance);
      if (typeof balance === 'number' && !(Number.isInteger(balance) && balance > 0)) {
        throw new UsageError(`Expected --balance to be max, none or a positive integer, but got ${flags.balance}`);
      }
      const { Hospital } = await import('@fedxray/hospital');
      const log = new HospitalLog(flags.log, flags.progressEvery * 1000);
      const h = await Hospital.start({
        coordinator: flags.coordinator,
        token,
        worker: flags.worker,
        ca: flags.ca,
        maskFrames: flags.maskFrames === true,
        giveUpAfterMs: flags.giveUpAfter * 1000,
        trainer: {
          data: { dir: resolve(flags.data), splitSeed: flags.seed },
          backend: flags.backend,
          augment: flags.augment,
          balance,
          maxRepeat: flags.maxRepeat,
          normalize: flags.normalize,
          seed: flags.seed,
          threads: flags.threads === 'auto' ? 'auto' : parseIntOption('--threads', 0)(flags.threads),
          microBatch: flags.microBatch,
        },
      });
      const f = h.trainer.facts();
      log.info(
        'data',
        `Hospital data: ${f.classes.length} classes, train ${f.examples.train}, val ${f.examples.val}, test ${f.examples.test}${f.skipped ? `, ${f.skipped} unreadable files skipped` : ''}; backend ${h.trainer.backend()}; normalize ${h.config.trainer.normalize}`,
        { classes: f.classes, examples: f.examples, skipped: f.skipped, backend: h.trainer.backend(), normalize: h.config.trainer.normalize },
      );
      log.attach(h, flags.coordinator);
      const stop = () => void h.close().then(() => process.exit(130));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const end = await h.done;
      log.info('finished', `Federation over: ${end.reason}`, { ...end });
    });
}
