import { Command, Option } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { openModelPath } from '../lib/model-path';
import { UsageError, parseIntOption } from '../usage';
import { describeMismatch, matchClasses } from '../lib/classes';
import { checkTrainingOverlap, chooseSplit, describeSplit } from '../lib/recorded-split';

const SPLITS = ['test', 'val', 'train', 'all'] as const;
type SplitChoice = (typeof SPLITS)[number];

interface EvaluateFlags {
  model: string;
  data: string;
  split: SplitChoice;
  splitSeed?: number;
  allowTrainingOverlap?: boolean;
  out: string;
  backend: string;
  batchSize: number;
  maxExamples?: number;
  resize: 'fill' | 'letterbox';
  normalize?: 'rescale' | 'imagenet';
  title?: string;
}

const fixed = (x: number, digits = 4): string => (Number.isFinite(x) ? x.toFixed(digits) : '–');

function directory(flag: string, path: string): string {
  const abs = resolve(path);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new UsageError(`Expected ${flag} to be a directory, but ${path} is not one`);
  return abs;
}

export function evaluateCommand(): Command {
  return new Command('evaluate')
    .description(
      'Evaluate a saved model on a folder of X-rays (one sub-folder per class, or train/val/test/<class>) and write ' +
        'report.json, report.md and PNG charts (confusion matrix, ROC curves, calibration)',
    )
    .requiredOption('--model <path>', 'saved model folder (model.json + fedxray.json, as a run writes it) or the dashboard\'s model archive (.tar)')
    .requiredOption('--data <dir>', 'image folder; its class folders are matched to the model’s classes by exact name, and a folder the model has no class for is refused')
    .addOption(
      new Option('--split <split>', 'which split to evaluate: the folder’s own train/val/test, else the content-hash split recorded in the model (8:1:1 if none)')
        .choices([...SPLITS])
        .default('test'),
    )
    .option('--split-seed <n>', 'seed of the content-hash split [default: the seed recorded in the model by the run that trained it, else 0]', parseIntOption('--split-seed', 0))
    .option('--allow-training-overlap', 'score images the model trained on (same content hash) instead of refusing; the report says how many')
    .option('--out <dir>', 'report directory', 'fedxray-report')
    .option('--backend <name>', 'auto | gpu | node | wasm | cpu', 'auto')
    .option('--batch-size <n>', 'images per forward pass', parseIntOption('--batch-size', 1), 16)
    .option('--max-examples <n>', 'evaluate at most this many images (a quick look; the report says so)', parseIntOption('--max-examples', 1))
    .addOption(new Option('--resize <mode>', 'fill: stretch to the square input (as training does); letterbox: keep the aspect ratio').choices(['fill', 'letterbox']).default('fill'))
    .addOption(new Option('--normalize <mode>', "pixel scaling the model was trained with (default: the model's, from its fedxray.json, else rescale)").choices(['rescale', 'imagenet']))
    .option('--title <text>', 'report title')
    .action(async (flags: EvaluateFlags) => {
      const modelPath = resolve(flags.model);
      const dataDir = directory('--data', flags.data);
      const started = Date.now();
      const [tf, model, data, evaluation] = await Promise.all([
        import('@tensorflow/tfjs'),
        import('@fedxray/model'),
        import('@fedxray/data'),
        import('@fedxray/evaluation'),
      ]);
      if (!(model.BACKEND_CHOICES as readonly string[]).includes(flags.backend)) {
        throw new UsageError(`Expected --backend to be one of ${model.BACKEND_CHOICES.join(', ')}, but got ${flags.backend}`);
      }
      const backend = await model.initBackend(flags.backend as (typeof model.BACKEND_CHOICES)[number], { training: false });
      const source = await openModelPath(modelPath);
      const modelDir = source.dir;
      const { model: net, spec, meta } = await model.loadModel(modelDir).catch(async (err) => {
        await source.dispose();
        throw err;
      });
      const normalize = flags.normalize ?? (meta.normalize === 'imagenet' ? 'imagenet' : 'rescale');
      try {
        const chosen = chooseSplit(data, modelDir, meta, flags.splitSeed);
        const scanned = await data.scanDataset(dataDir);
        const match = matchClasses(scanned.classes, spec.classes);
        const mismatch = describeMismatch(match, spec.classes, dataDir);
        if (mismatch) throw new UsageError(mismatch);
        // Labels follow the model's class order, whatever order the folders sort in.
        const label = new Map(spec.classes.map((c, i) => [c, i]));
        const ds = { ...scanned, classes: [...spec.classes], items: scanned.items.map((it) => ({ ...it, label: label.get(it.className)! })) };
        process.stderr.write(
          `Class folders matched to the model's classes by name: ${match.matched.join(', ')}` +
            `${match.missing.length > 0 ? `; no folder for ${match.missing.join(', ')} (no images of ${match.missing.length === 1 ? 'that class' : 'those classes'}: ${match.missing.length === 1 ? 'its' : 'their'} recall and AUC are undefined)` : ''}\n`,
        );
        const splits = data.splitDataset(ds, { seed: chosen.seed, ratios: chosen.ratios });
        let items = flags.split === 'all' ? [...splits.train, ...splits.val, ...splits.test] : splits[flags.split];
        process.stderr.write(`${ds.presplit ? 'Split: the folder’s own train/val/test' : describeSplit(data, chosen, flags.split, items)}\n`);
        const trainedOn = checkTrainingOverlap(data, chosen, items, flags.split, flags.allowTrainingOverlap === true);
        if (trainedOn > 0) process.stderr.write(`Warning: ${trainedOn} of the ${items.length} images were in the model's training set (--allow-training-overlap): the scores overstate the model\n`);
        if (!chosen.training) process.stderr.write(`The model lists no training images (${data.TRAINING_IMAGES_FILE}): overlap with its training set cannot be checked\n`);
        if (items.length === 0) {
          throw new UsageError(
            `No images of the model's classes (${spec.classes.join(', ')}) in the ${flags.split} split of ${dataDir}` +
              (ds.skipped.length > 0 ? ` (${ds.skipped.length} files skipped, e.g. ${ds.skipped[0].path}: ${ds.skipped[0].reason})` : ''),
          );
        }
        const available = items.length;
        if (flags.maxExamples !== undefined && flags.maxExamples < items.length) {
          // Evenly spaced through the split, so every class keeps its share.
          const all = items;
          const k = flags.maxExamples;
          items = Array.from({ length: k }, (_, i) => all[Math.floor((i * all.length) / k)]);
        }
        process.stderr.write(
          `Evaluating ${items.length} images (${flags.split} split) of ${dataDir} with ${modelPath} on ${backend.backend}` +
            `${ds.skipped.length > 0 ? `; ${ds.skipped.length} files skipped while scanning` : ''}\n`,
        );

        const summary = evaluation.createSummary([...spec.classes]);
        const stream = data.batches(items, {
          imageSize: spec.imageSize,
          channels: spec.channels as 1 | 3,
          resize: flags.resize,
          normalize,
          batchSize: flags.batchSize,
          shuffle: false,
          augment: false,
          balance: 'none',
        });
        let done = 0;
        for await (const batch of stream) {
          const x = tf.tensor4d(batch.x, [batch.n, batch.imageSize, batch.imageSize, batch.channels]);
          try {
            const { probs, losses } = model.evaluateBatch(net, spec, x, batch.labels);
            evaluation.addPredictions(summary, probs, batch.labels, losses);
          } finally {
            x.dispose();
          }
          done += batch.n;
          if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${done}/${items.length} images`);
        }
        if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
        if (summary.count === 0) throw new Error(`None of the ${items.length} images could be decoded (${stream.stats.skipped[0]?.reason ?? 'no reason given'})`);

        const out = resolve(flags.out);
        const { files } = await evaluation.writeReport(out, {
          title: flags.title ?? `Evaluation of ${modelPath}`,
          classes: [...spec.classes],
          rounds: [],
          final: { test: summary, testName: flags.split },
          config: {
            model: modelPath,
            data: dataDir,
            split: flags.split,
            splitSeed: chosen.seed,
            splitRatios: chosen.ratios,
            splitSource: chosen.source,
            trainedOn: chosen.training ? trainedOn : null,
            imagesInSplit: available,
            imagesEvaluated: summary.count,
            unreadable: stream.stats.skipped.map((s) => `${s.path}: ${s.reason}`),
            skippedWhileScanning: ds.skipped.length,
            backend: backend.backend,
            resize: flags.resize,
            normalize,
            arch: spec.arch,
            imageSize: spec.imageSize,
          },
        });

        const m = evaluation.computeMetrics(summary);
        const lines = [
          `${summary.count} images, ${flags.split} split${summary.count < available ? ` (of ${available})` : ''}: accuracy ${fixed(m.accuracy)}, ` +
            `balanced accuracy ${fixed(m.balancedAccuracy)}, macro AUC ${fixed(m.macroAuc)}, kappa ${fixed(m.kappa)}, loss ${fixed(m.loss)}`,
          '',
          ['class'.padEnd(16), 'precision', '   recall', 'specificity', '       F1', '      AUC', 'support'].join('  '),
          ...m.perClass.map((c) =>
            [
              c.name.padEnd(16),
              fixed(c.precision).padStart(9),
              fixed(c.recall).padStart(9),
              fixed(c.specificity).padStart(11),
              fixed(c.f1).padStart(9),
              fixed(c.auc).padStart(9),
              String(c.support).padStart(7),
            ].join('  '),
          ),
          '',
          `Report (${((Date.now() - started) / 1000).toFixed(1)} s): ${out}`,
          ...files.map((f) => `  ${f}`),
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
        if (stream.stats.skipped.length > 0) {
          process.stderr.write(`${stream.stats.skipped.length} images could not be decoded and were left out (listed in report.json)\n`);
        }
      } finally {
        net.dispose();
        await source.dispose();
      }
    });
}
