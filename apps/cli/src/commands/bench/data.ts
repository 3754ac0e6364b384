import { Command, Option } from 'commander';
import { parseIntOption } from '../../usage';

/** `fedxray bench data`: 1024×1024 PNG → decode + resize → augmentation → 224×224 tensors. */
export function benchDataCommand(): Command {
  return new Command('data')
    .description('Measure the input pipeline: generated 1024×1024 PNGs (or JPEGs) → sharp decode + resize → the study\'s augmentation → 224×224 Float32 batches')
    .option('--images <n>', 'PNG files generated (in a temp folder, removed after)', parseIntOption('--images', 8), 96)
    .option('--source-size <px>', 'side of the generated PNGs', parseIntOption('--source-size', 64), 1024)
    .addOption(new Option('--format <png|jpeg>', 'format of the generated sources').choices(['png', 'jpeg']).default('png'))
    .option('--image-size <px>', 'model input side', parseIntOption('--image-size', 16), 224)
    .option('--batch-size <n>', 'batch size', parseIntOption('--batch-size', 1), 32)
    .option('--concurrency <n>', 'images decoded at once (default: 2 × cores)', parseIntOption('--concurrency', 1))
    .option('--workers <n>', 'worker threads decoding and augmenting (1: all in the main thread, sharp on its own threads)', parseIntOption('--workers', 1), 1)
    .option('--epochs <n>', 'passes; the first warms up and is not counted unless it is the only one', parseIntOption('--epochs', 1), 3)
    .option('--no-augment', 'measure without augmentation')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { images: number; sourceSize: number; format: 'png' | 'jpeg'; imageSize: number; batchSize: number; concurrency?: number; workers: number; epochs: number; augment: boolean; json?: boolean }) => {
      const { benchDataPipeline } = await import('@fedxray/data');
      const r = await benchDataPipeline({
        images: opts.images,
        sourceSize: opts.sourceSize,
        format: opts.format,
        imageSize: opts.imageSize,
        batchSize: opts.batchSize,
        concurrency: opts.concurrency,
        workers: opts.workers,
        epochs: opts.epochs,
        augment: opts.augment,
        log: opts.json ? undefined : (line) => process.stderr.write(`${line}\n`),
      });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        return;
      }
      process.stdout.write(
        [
          `${r.imagesPerSecond} images/s (${r.images} images in ${r.seconds} s, ${r.sourceSize}² ${r.format.toUpperCase()} (${r.sourceKiB} KiB) → ${r.imageSize}² tensors, concurrency ${r.concurrency}, ${r.workers} worker thread(s), ${r.cores} cores)`,
          `decode + resize alone: ${r.decodeOnlyImagesPerSecond} images/s, ${r.decodeCpuMsPerImage} ms CPU per image; augmentation ${r.augmentMsPerImage} ms CPU per image`,
          `CPU per image, all threads: ${r.cpuMsPerImage} ms → the ${r.cores} cores allow ≈ ${r.cpuBoundImagesPerSecond} images/s when idle; ≈ ${r.coresFor800ImagesPerSecond} cores to feed 800 images/s`,
          r.loadAverage > r.cores ? `note: load average ${r.loadAverage} on ${r.cores} cores: other work shared the CPU, so images/s is understated` : '',
        ]
          .filter(Boolean)
          .join('\n') + '\n',
      );
    });
}
