import { mkdir, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { Command, Option } from 'commander';
import { parseIntOption, UsageError } from '../usage';
import { describeHeatmap, inputToOriginal } from '../lib/gradcam-report';
import { openModelPath } from '../lib/model-path';

interface PredictOpts {
  model: string;
  gradcam?: string;
  class?: string;
  json?: boolean;
  backend: 'auto' | 'gpu' | 'node' | 'wasm' | 'cpu';
  normalize?: 'rescale' | 'imagenet';
  resize: 'fill' | 'letterbox';
  overlaySize: number;
}

/** `fedxray predict`: class probabilities per image, and Grad-CAM heatmaps on request. */
export function predictCommand(): Command {
  return new Command('predict')
    .description(
      'Print class probabilities for X-ray images with a saved model; --gradcam also writes a heatmap of where the evidence for the class lies, ' +
        'overlaid on the image with a colour bar and legend (PNG), and prints where it peaks or that it is flat',
    )
    .argument('<image...>', 'image files (PNG, JPEG, DICOM, … — what fedxray data reads)')
    .requiredOption('--model <path>', "saved model directory (model.json + fedxray.json), or the archive of one (the dashboard's Download global model, /model.tar)")
    .option('--gradcam <outdir>', 'write <outdir>/<image>.gradcam.png for each image')
    .option('--class <name|index>', 'explain this class in the heatmap instead of the predicted one')
    .option('--json', 'print results as JSON')
    .addOption(new Option('--backend <name>', 'compute backend').choices(['auto', 'gpu', 'node', 'wasm', 'cpu']).default('auto'))
    .addOption(new Option('--normalize <mode>', 'input normalisation the model was trained with (default: the model\'s, else rescale = x/255)').choices(['rescale', 'imagenet']))
    .addOption(new Option('--resize <mode>', 'fit to the square input: stretch (as Keras flow_from_directory) or letterbox').choices(['fill', 'letterbox']).default('fill'))
    .option('--overlay-size <px>', 'side of the heatmap overlay PNG', parseIntOption('--overlay-size', 16), 512)
    .action(async (images: string[], opts: PredictOpts) => {
      const { initBackend, loadModel, predictProbs, gradCam, heatmapOverlayPng } = await import('@fedxray/model');
      const { decodeImage, decodeResized, probeImage } = await import('@fedxray/data');
      const tf = await import('@tensorflow/tfjs');
      const backend = await initBackend(opts.backend, { training: false });
      const source = await openModelPath(opts.model);
      const { model, spec, meta } = await loadModel(source.dir).finally(() => source.dispose());
      if (spec.channels !== 1 && spec.channels !== 3) throw new UsageError(`Models with ${spec.channels} input channels cannot read images; expected 1 or 3`);
      const channels = spec.channels as 1 | 3;
      const normalize = opts.normalize ?? (meta.normalize === 'imagenet' ? 'imagenet' : 'rescale');
      let explain: number | undefined;
      if (opts.class !== undefined) {
        explain = /^\d+$/.test(opts.class) ? Number(opts.class) : spec.classes.indexOf(opts.class);
        if (!(explain >= 0 && explain < spec.classes.length)) {
          throw new UsageError(`Expected --class to be one of ${spec.classes.join(', ')} or an index below ${spec.classes.length}, but got ${opts.class}`);
        }
      }
      if (opts.gradcam) await mkdir(opts.gradcam, { recursive: true });
      const used = new Map<string, number>();
      const results: {
        file: string;
        probabilities: Record<string, number>;
        predicted: string;
        /** The overlay PNG written. */
        gradcam?: string;
        explained?: string;
        /** The heatmap: flat or not (see GradCamResult.flat), and its peak in the original image's pixels. */
        heatmap?: { flat: 'empty' | 'uniform' | null; peak: { x: number; y: number }; imageWidth: number; imageHeight: number };
      }[] = [];
      for (const file of images) {
        let pixels: Float32Array;
        try {
          pixels = await decodeImage(file, { imageSize: spec.imageSize, channels, normalize, resize: opts.resize });
        } catch (err) {
          throw new UsageError(`Cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
        }
        const x = tf.tensor4d(pixels, [1, spec.imageSize, spec.imageSize, channels]);
        try {
          const probs = predictProbs(model, x);
          let best = 0;
          for (let i = 1; i < probs.length; i++) if (probs[i] > probs[best]) best = i;
          const r: (typeof results)[number] = {
            file,
            probabilities: Object.fromEntries(spec.classes.map((c, i) => [c, Number(probs[i].toFixed(6))])),
            predicted: spec.classes[best],
          };
          if (opts.gradcam) {
            const cam = gradCam(model, spec, x, explain ?? best);
            const base = basename(file, extname(file));
            const n = used.get(base) ?? 0;
            used.set(base, n + 1);
            const out = join(opts.gradcam, `${base}${n ? `-${n}` : ''}.gradcam.png`);
            const img = await decodeResized(file, opts.overlaySize, { channels: 3, resize: opts.resize });
            const bytes = new Uint8Array(img.data.length);
            for (let i = 0; i < bytes.length; i++) bytes[i] = Math.round(255 * Math.min(1, Math.max(0, img.data[i])));
            const info = await probeImage(file);
            const original = { width: info.width, height: info.height };
            const peak = inputToOriginal(cam.peak, spec.imageSize, original, opts.resize);
            const explained = spec.classes[cam.classIndex];
            await writeFile(
              out,
              await heatmapOverlayPng({ data: bytes, width: img.width, height: img.height, channels: img.channels }, cam, {
                title: `Grad-CAM: ${explained} p=${probs[cam.classIndex].toFixed(2)}`,
                peak: { ...cam.peak, label: `peak at x ${peak.x}, y ${peak.y} of ${original.width}x${original.height}` },
                flat: cam.flat,
              }),
            );
            r.gradcam = out;
            r.explained = explained;
            r.heatmap = { flat: cam.flat, peak, imageWidth: original.width, imageHeight: original.height };
          }
          results.push(r);
        } finally {
          x.dispose();
        }
      }
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ model: opts.model, backend: backend.backend, classes: spec.classes, results }, null, 2)}\n`);
        return;
      }
      const width = Math.max(...results.map((r) => r.file.length));
      const lines = [`${spec.arch} on ${backend.backend}; ${spec.classes.length} classes`];
      for (const r of results) {
        const ps = spec.classes.map((c) => `${c} ${r.probabilities[c].toFixed(3)}`).join('  ');
        lines.push(`${r.file.padEnd(width)}  ${ps}  → ${r.predicted}`);
        if (r.gradcam && r.heatmap) lines.push(`  ${describeHeatmap({ file: r.gradcam, explained: r.explained!, ...r.heatmap })}`);
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
