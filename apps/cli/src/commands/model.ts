import { Argument, Command, Option } from 'commander';
import { parseFloatOption, parseIntOption, UsageError } from '../usage';
import { bar, Progress } from '../lib/progress';

const ARCH_NAMES = ['densenet121', 'densenet169', 'densenet201', 'densenet-tiny', 'densenet-small'];

/** `--classes 4` (names class0…class3) or `--classes covid19,normal,pneumonia,tuberculosis`. */
export function parseClasses(value: string): string[] {
  if (/^\d+$/.test(value)) {
    const n = Number(value);
    if (n < 2) throw new UsageError(`Expected --classes to be at least 2, but got ${value}`);
    return Array.from({ length: n }, (_, i) => `class${i}`);
  }
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length < 2) throw new UsageError(`Expected --classes as a count ≥ 2 or a comma-separated list of at least two names, but got "${value}"`);
  return names;
}

interface SpecOpts {
  arch: string;
  classes: string[];
  imageSize: number;
  channels: number;
  units: number;
  activation: string;
  dropout: number;
  output: string;
  optimizer: string;
  lr: number;
  freezeBackbone?: boolean;
}

const specOptions = (cmd: Command, classesRequired: boolean) => {
  cmd
    .addOption(new Option('--arch <name>', 'architecture').choices(ARCH_NAMES).makeOptionMandatory())
    .addOption(
      classesRequired
        ? new Option('--classes <n|names>', 'class count, or class names comma-separated in output order').argParser(parseClasses).makeOptionMandatory()
        : new Option('--classes <n|names>', 'class count, or class names comma-separated in output order').argParser(parseClasses).default(parseClasses('4'), '4'),
    )
    .option('--image-size <px>', 'square input side', parseIntOption('--image-size', 16), 224)
    .addOption(new Option('--channels <n>', 'input channels').choices(['1', '3']).default(3).argParser((v) => Number(v)))
    .option('--units <n>', 'units of the head\'s hidden Dense layer', parseIntOption('--units', 1), 512)
    .addOption(new Option('--activation <name>', 'activation of the hidden Dense layer').choices(['relu', 'tanh', 'sigmoid']).default('relu'))
    .option('--dropout <p>', 'dropout after the head\'s BatchNormalization', parseFloatOption('--dropout'), 0.3)
    .addOption(new Option('--output <kind>', 'softmax + categorical cross-entropy, or the study\'s sigmoid + binary cross-entropy').choices(['softmax', 'sigmoid']).default('softmax'))
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(['adam', 'sgd', 'adagrad']).default('adam'))
    .option('--lr <rate>', 'learning rate', parseFloatOption('--lr'), 0.001)
    .option('--freeze-backbone', 'start with the backbone frozen (train the head first)');
  return cmd;
};

async function specFrom(opts: SpecOpts) {
  const { ModelSpecSchema } = await import('@fedxray/model');
  const r = ModelSpecSchema.safeParse({
    arch: opts.arch,
    classes: opts.classes,
    imageSize: opts.imageSize,
    channels: opts.channels,
    head: { units: opts.units, activation: opts.activation, dropout: opts.dropout },
    output: opts.output,
    optimizer: { name: opts.optimizer, learningRate: opts.lr },
    freezeBackbone: !!opts.freezeBackbone,
  });
  if (!r.success) throw new UsageError(`Bad model options: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

function summaryCommand(): Command {
  return specOptions(new Command('summary').description('Parameter and weight-tensor counts of an architecture with the study\'s head (builds it; no training)'), false)
    .option('--trainable <settings>', 'also the update a hospital sends back under each setting, comma-separated (e.g. all,head,from:conv5_block1_0_bn): tensors and bytes')
    .option('--json', 'print {arch, params, trainableParams, backboneParams, weightTensors, bytes, …} as JSON')
    .action(async (opts: SpecOpts & { json?: boolean; trainable?: string }) => {
      const spec = await specFrom(opts);
      const { initBackend, modelSummary } = await import('@fedxray/model');
      await initBackend('cpu');
      const s = { ...modelSummary(spec), ...(opts.trainable ? { updates: await updateSizes(spec, opts.trainable) } : {}) };
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
        return;
      }
      const n = (v: number) => v.toLocaleString('en-US');
      process.stdout.write(
        [
          `${s.arch} · ${s.imageSize}×${s.imageSize}×${s.channels} · ${s.classes} classes`,
          `params            ${n(s.params)}  (${mb(s.bytes)} as float32)`,
          `trainable params  ${n(s.trainableParams)}`,
          `backbone params   ${n(s.backboneParams)}`,
          `weight tensors    ${s.weightTensors}`,
          ...(s.updates ?? []).map((u) => `update under --trainable ${u.trainable}: ${u.tensors} tensors, ${mb(u.float32Bytes)} (float16 ${mb(u.float16Bytes)})`),
        ].join('\n') + '\n',
      );
    });
}

/** What a hospital's update weighs under each trainable setting: the trained tensors and trained BatchNorm statistics, encoded as the wire carries them. */
async function updateSizes(spec: Awaited<ReturnType<typeof specFrom>>, settings: string) {
  const { buildModel, getNamedWeights, parseTrainable, planTrainable, ModelError } = await import('@fedxray/model');
  const { encodeWeights } = await import('@fedxray/protocol');
  const model = buildModel(spec, { seed: 0 });
  const weights = getNamedWeights(model);
  model.dispose();
  return settings.split(',').map((text) => {
    let plan: ReturnType<typeof planTrainable>;
    try {
      plan = planTrainable(spec, parseTrainable(text));
    } catch (err) {
      throw err instanceof ModelError ? new UsageError(err.message) : err;
    }
    const sent = new Set([...plan.trained, ...plan.statistics]);
    const update = weights.filter((w) => sent.has(w.name));
    return { trainable: text.trim(), tensors: update.length, float32Bytes: encodeWeights(update).byteLength, float16Bytes: encodeWeights(update, { dtype: 'float16' }).byteLength };
  });
}

function initCommand(): Command {
  return specOptions(new Command('init').description('Create a freshly initialised model directory (tfjs format + fedxray.json)'), true)
    .requiredOption('--out <dir>', 'directory to write')
    .option('--seed <n>', 'initialisation seed (the same seed gives the same weights)', parseIntOption('--seed'), 0)
    .action(async (opts: SpecOpts & { out: string; seed: number }) => {
      const spec = await specFrom(opts);
      const { initBackend, buildModel, saveModel, modelSummary } = await import('@fedxray/model');
      await initBackend('cpu');
      const model = buildModel(spec, { seed: opts.seed });
      await saveModel(model, opts.out, { spec, seed: opts.seed, createdAt: new Date().toISOString() });
      const s = modelSummary(spec);
      process.stdout.write(`wrote ${opts.out}: ${spec.arch}, ${s.params.toLocaleString('en-US')} params, classes ${spec.classes.join(', ')}\n`);
    });
}

function infoCommand(): Command {
  return new Command('info')
    .description('Show the spec, counts and weight manifest of a saved model directory')
    .argument('<dir>', 'model directory (model.json + fedxray.json)')
    .option('--manifest', 'list every weight tensor')
    .option('--json', 'print as JSON')
    .action(async (dir: string, opts: { manifest?: boolean; json?: boolean }) => {
      const { initBackend, loadModel, weightManifest } = await import('@fedxray/model');
      await initBackend('cpu');
      const { model, spec, meta } = await loadModel(dir);
      const manifest = weightManifest(model);
      const params = manifest.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
      const trainable = manifest.filter((w) => w.trainable).reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
      const extra = Object.fromEntries(Object.entries(meta).filter(([k]) => !['spec', 'format', 'version'].includes(k)));
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ spec, meta: extra, params, trainableParams: trainable, weightTensors: manifest.length, ...(opts.manifest ? { manifest } : {}) }, null, 2)}\n`);
        return;
      }
      const lines = [
        `${dir}: ${spec.arch} · ${spec.imageSize}×${spec.imageSize}×${spec.channels} · classes ${spec.classes.join(', ')}`,
        `head Dense(${spec.head.units}, ${spec.head.activation}) → BN → Dropout(${spec.head.dropout}) → Dense(${spec.classes.length}, ${spec.output}); ${spec.optimizer.name} lr ${spec.optimizer.learningRate}${spec.freezeBackbone ? '; backbone frozen' : ''}`,
        `params ${params.toLocaleString('en-US')} (trainable ${trainable.toLocaleString('en-US')}) in ${manifest.length} tensors`,
      ];
      for (const [k, v] of Object.entries(extra)) lines.push(`${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
      if (opts.manifest) for (const w of manifest) lines.push(`  ${w.name} [${w.shape.join(',')}]${w.trainable ? '' : w.batchNormStat ? ' (moving statistic)' : ' (frozen)'}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

function importKerasCommand(): Command {
  return specOptions(
    new Command('import-keras')
      .description('Build a model and load a Keras HDF5 weight file into it by layer name (e.g. densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5); reports layers that did not match')
      .argument('<file.h5>', 'Keras HDF5 weights (model.save_weights h5 format, keras.applications weight files, or a full model.save .h5)'),
    false,
  )
    .requiredOption('--out <dir>', 'model directory to write')
    .option('--seed <n>', 'seed for weights the file does not have (the head of a notop file)', parseIntOption('--seed'), 0)
    .option('--strict', 'fail unless every backbone layer was loaded and nothing in the file was left over')
    .option('--json', 'print the import report as JSON')
    .action(async (file: string, opts: SpecOpts & { out: string; seed: number; strict?: boolean; json?: boolean }) => {
      const spec = await specFrom(opts);
      const { initBackend, buildModel, saveModel, importKerasWeights, HEAD_LAYERS } = await import('@fedxray/model');
      await initBackend('cpu');
      const model = buildModel(spec, { seed: opts.seed });
      const report = await importKerasWeights(model, file);
      const head = new Set<string>(Object.values(HEAD_LAYERS));
      const missingBackbone = report.missingModelLayers.filter((l) => !head.has(l));
      if (opts.strict && (missingBackbone.length > 0 || report.unmatchedFileLayers.length > 0 || report.shapeMismatches.length > 0)) {
        throw new UsageError(
          `Import of ${file} is incomplete: ${missingBackbone.length} backbone layers not in the file, ${report.unmatchedFileLayers.length} file layers unmatched, ${report.shapeMismatches.length} shape mismatches (run without --strict to see them)`,
        );
      }
      await saveModel(model, opts.out, { spec, importedFrom: file, importedAt: new Date().toISOString(), import: { ...report, file: undefined } });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ out: opts.out, ...report }, null, 2)}\n`);
        return;
      }
      const lines = [
        `loaded ${report.loadedTensors} tensors (${report.loadedValues.toLocaleString('en-US')} values) into ${report.matchedLayers.length} layers; wrote ${opts.out}`,
      ];
      const list = (title: string, xs: string[]) => {
        if (xs.length === 0) return;
        lines.push(`${title} (${xs.length}):`);
        for (const x of xs.slice(0, 30)) lines.push(`  ${x}`);
        if (xs.length > 30) lines.push(`  … ${xs.length - 30} more (see --json)`);
      };
      list('model layers not in the file, left initialised', report.missingModelLayers);
      list('file layers with no match in the model', report.unmatchedFileLayers);
      list('shape mismatches, left initialised', report.shapeMismatches);
      list('adapted', report.adapted);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

interface DownloadProgress {
  received: number;
  total: number | null;
  resumedFrom: number;
}

/** Download progress: a live bar on a terminal, a line every 10% (or 15 s) in a log. */
export function downloadReporter(p: Progress, now: () => number = Date.now): (d: DownloadProgress) => void {
  const start = now();
  let lastDraw = 0;
  let lastLine = start;
  let lastTenth = -1;
  return (d) => {
    const t = now();
    const rate = (d.received - d.resumedFrom) / Math.max(0.001, (t - start) / 1000);
    const text = `${d.total ? `${bar(d.received, d.total)} ${((100 * d.received) / d.total).toFixed(0)}% ` : ''}${mb(d.received)}${d.total ? ` of ${mb(d.total)}` : ''} at ${mb(rate)}/s${d.resumedFrom > 0 ? ` (resumed at ${mb(d.resumedFrom)})` : ''}`;
    if (p.tty) {
      if (t - lastDraw >= 100 || d.received === d.total) {
        p.update(text);
        lastDraw = t;
      }
      return;
    }
    const tenth = d.total ? Math.floor((10 * d.received) / d.total) : -1;
    if (tenth > lastTenth || t - lastLine >= 15_000) {
      p.line(text);
      lastTenth = Math.max(lastTenth, tenth);
      lastLine = t;
    }
  };
}

function fetchCommand(): Command {
  return new Command('fetch')
    .description(
      "Download Keras' ImageNet weights (the notop file of DenseNet121/169/201) into the cache ($XDG_CACHE_HOME/fedxray, else ~/.cache/fedxray), verify Keras' published MD5, resume an interrupted download; proxies from HTTPS_PROXY/HTTP_PROXY/NO_PROXY",
    )
    .addArgument(new Argument('<weights>', 'which weights').choices(['imagenet']))
    .addOption(new Option('--arch <name>', 'architecture').choices(['densenet121', 'densenet169', 'densenet201']).default('densenet121'))
    .option('--url <url>', "a mirror to download from instead of Keras' URL (the file must have Keras' hash)")
    .option('--from-file <path>', 'take the file from this path (a hospital without internet), checking its hash')
    .option('--json', 'print {path, md5, from, bytes, resumedFrom, proxy} as JSON')
    .action(async (_weights: string, opts: { arch: string; url?: string; fromFile?: string; json?: boolean }) => {
      if (opts.url && opts.fromFile) throw new UsageError('Give --url or --from-file, not both');
      const { fetchImagenetWeights, imagenetFile } = await import('@fedxray/model');
      const p = new Progress();
      const f = imagenetFile(opts.arch);
      if (!opts.json && !opts.fromFile) p.line(`${f.file}: from the cache, else from ${opts.url ?? f.url}`);
      const r = await fetchImagenetWeights(opts.arch, { url: opts.url, fromFile: opts.fromFile, onProgress: opts.json ? undefined : downloadReporter(p) });
      p.done();
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        return;
      }
      const how = r.from === 'cache' ? 'already cached' : r.from === 'file' ? `copied from ${opts.fromFile}` : `downloaded${r.resumedFrom ? ` (resumed at ${mb(r.resumedFrom)})` : ''}${r.proxy ? ` through ${r.proxy}` : ''}`;
      process.stdout.write(`${r.path} (md5 ${r.md5}, ${how}); use it with --weights imagenet\n`);
    });
}

/** `fedxray model …`: build, inspect and import models. */
export function modelCommand(): Command {
  const model = new Command('model').description('DenseNet models with the study\'s head: counts, fresh models, Keras weight import, ImageNet weights, saved-model info');
  model.addCommand(summaryCommand());
  model.addCommand(initCommand());
  model.addCommand(infoCommand());
  model.addCommand(importKerasCommand());
  model.addCommand(fetchCommand());
  return model;
}
