import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { parseIntOption, UsageError } from '../../usage';

const ARCHS = ['densenet121', 'densenet169', 'densenet201', 'densenet-tiny', 'densenet-small'];
const BACKENDS = ['auto', 'gpu', 'node', 'wasm', 'cpu'];
const TORCH_SCRIPT = fileURLToPath(new URL('./torch_densenet.py', import.meta.url));

interface TorchResult {
  imagesPerSecond: number;
  medianStepCpuSeconds: number;
  [k: string]: unknown;
}

/** Runs the PyTorch twin of the benchmark; null (with the reason) if python3-torch is missing. */
function runTorch(o: { arch: string; imageSize: number; batch: number; steps: number; warmup: number }): TorchResult | { error: string } {
  const python = process.env.PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
  const args = [TORCH_SCRIPT, '--arch', o.arch, '--image-size', String(o.imageSize), '--batch', String(o.batch), '--steps', String(o.steps), '--warmup', String(o.warmup)];
  const r = spawnSync(python, args, { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.error) return { error: `${python} could not run: ${r.error.message}` };
  if (r.status !== 0) {
    const msg = r.stderr.includes("No module named 'torch") ? 'PyTorch is not installed (Debian: apt-get install -y python3-torch python3-torchvision)' : r.stderr.trim().split('\n').slice(-1)[0];
    return { error: msg };
  }
  return JSON.parse(r.stdout.trim().split('\n').slice(-1)[0]) as TorchResult;
}

/** `fedxray bench train`: images per second of full training steps. */
export function benchTrainCommand(): Command {
  return new Command('train')
    .description(
      'Time DenseNet training steps (forward, backward, optimizer) on random images and print images per second: the median step after warm-up',
    )
    .addOption(new Option('--arch <arch>', 'architecture').choices(ARCHS).default('densenet121'))
    .option('--image-size <n>', 'square input side in pixels', parseIntOption('--image-size', 16), 224)
    .option('--batch <n>', 'images per optimizer step', parseIntOption('--batch', 1), 8)
    .addOption(new Option('--backend <b>', 'tfjs backend (auto: tfjs-node-gpu → tfjs-node → wasm → cpu)').choices(BACKENDS).default('auto'))
    .option('--workers <n>', 'worker threads, each with its own backend (default: one per core on wasm/cpu, 0 on native backends)', parseIntOption('--workers', 0))
    .option('--micro-batch <n>', 'images per forward/backward pass; gradients are accumulated (default: 4 at 224×224, more for smaller images)', parseIntOption('--micro-batch', 1))
    .option('--steps <n>', 'timed steps', parseIntOption('--steps', 1), 5)
    .option('--warmup <n>', 'untimed steps before them', parseIntOption('--warmup', 0), 2)
    .addOption(
      new Option('--trainable <what>', 'all: full fine-tuning steps; head: also head-only training on a frozen backbone (features computed in the first epoch, read from the feature cache after), with the ratio to full fine-tuning')
        .choices(['all', 'head'])
        .default('all'),
    )
    .option('--images <n>', 'with --trainable head: images per epoch', parseIntOption('--images', 1), 32)
    .option('--epochs <n>', 'with --trainable head: epochs (the first computes the features)', parseIntOption('--epochs', 2), 4)
    .option('--compare-torch', 'also time the same model and head in PyTorch (python3-torch) and report the ratio')
    .option('--json', 'print one JSON object')
    .action(async (o: {
      arch: string;
      imageSize: number;
      batch: number;
      backend: string;
      workers?: number;
      microBatch?: number;
      steps: number;
      warmup: number;
      compareTorch?: boolean;
      trainable: 'all' | 'head';
      images: number;
      epochs: number;
      json?: boolean;
    }) => {
      if (o.imageSize > 1024) throw new UsageError(`Expected --image-size ≤ 1024, but got ${o.imageSize}`);
      const { benchTrain } = await import('@fedxray/model');
      const result: Record<string, unknown> = {
        ...(await benchTrain({
          arch: o.arch as Parameters<typeof benchTrain>[0]['arch'],
          imageSize: o.imageSize,
          batch: o.batch,
          backend: o.backend as Parameters<typeof benchTrain>[0]['backend'],
          workers: o.workers,
          microBatch: o.microBatch,
          steps: o.steps,
          warmup: o.warmup,
        })),
      };
      if (o.trainable === 'head') {
        result.head = await benchHead(o);
        result.cachedToFullRatio = (result.head as { cachedImagesPerSecond: number }).cachedImagesPerSecond / (result.imagesPerSecond as number);
      }
      if (o.compareTorch) {
        const torch = runTorch(o);
        result.torch = torch;
        if ('imagesPerSecond' in torch) {
          result.ratioToTorch = (result.imagesPerSecond as number) / torch.imagesPerSecond;
          // The same ratio in CPU time: what each would do with the cores to itself.
          result.cpuRatioToTorch = torch.medianStepCpuSeconds / (result.medianStepCpuSeconds as number);
        }
      }
      if (o.json) {
        process.stdout.write(`${JSON.stringify(result)}\n`);
        return;
      }
      const r = result as {
        backend: string;
        arch: string;
        imageSize: number;
        batch: number;
        imagesPerSecond: number;
        medianStepSeconds: number;
        medianStepCpuSeconds: number;
        workers: number;
        microBatch: number;
        customKernels: boolean;
        kernelSimd: string | null;
        loadAverage: number[];
      };
      const lines = [
        `${r.arch} ${r.imageSize}×${r.imageSize}, batch ${r.batch}, backend ${r.backend}${r.customKernels ? ` (fedxray training kernels, ${r.kernelSimd})` : ''}, ${r.workers} worker(s), micro-batch ${r.microBatch}`,
        `  ${r.imagesPerSecond.toFixed(3)} images/s (median step ${r.medianStepSeconds.toFixed(2)} s, ${r.medianStepCpuSeconds.toFixed(2)} CPU-s; load average ${r.loadAverage.map((v) => v.toFixed(1)).join(' → ')})`,
      ];
      const head = result.head as { firstEpochImagesPerSecond: number; cachedImagesPerSecond: number; images: number; featureLength: number } | undefined;
      if (head) {
        lines.push(
          `  head only (--trainable head), ${head.images} images, ${head.featureLength} features each, kept in a hospital feature cache on disk:`,
          `    first epoch (features computed): ${head.firstEpochImagesPerSecond.toFixed(2)} images/s`,
          `    later epochs (cached):           ${head.cachedImagesPerSecond.toFixed(1)} images/s = ${(result.cachedToFullRatio as number).toFixed(0)}× full fine-tuning`,
        );
      }
      const torch = result.torch as TorchResult | { error: string } | undefined;
      if (torch && 'error' in torch) lines.push(`  PyTorch: not run — ${torch.error}`);
      else if (torch) {
        lines.push(
          `  PyTorch: ${torch.imagesPerSecond.toFixed(3)} images/s (${torch.medianStepCpuSeconds.toFixed(2)} CPU-s per step); ratio ${(result.ratioToTorch as number).toFixed(2)} (in CPU time ${(result.cpuRatioToTorch as number).toFixed(2)})`,
        );
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

/** Head-only training with a hospital's feature cache (in a temporary directory) as the store. */
async function benchHead(o: { arch: string; imageSize: number; batch: number; backend: string; microBatch?: number; images: number; epochs: number }) {
  const { benchHeadTraining } = await import('@fedxray/model');
  const { FeatureCache } = await import('@fedxray/hospital');
  const { createHash } = await import('node:crypto');
  const dir = await mkdtemp(join(tmpdir(), 'fedxray-bench-features-'));
  const hashOf = (i: number) => createHash('sha256').update(`bench image ${i}`).digest('hex');
  let cache: Awaited<ReturnType<typeof FeatureCache.open>> | null = null;
  try {
    return await benchHeadTraining({
      arch: o.arch as Parameters<typeof benchHeadTraining>[0]['arch'],
      imageSize: o.imageSize,
      batch: o.batch,
      backend: o.backend as Parameters<typeof benchHeadTraining>[0]['backend'],
      microBatch: o.microBatch,
      images: o.images,
      epochs: o.epochs,
      store: {
        get: async (i) => cache!.get(hashOf(i), 'o'),
        put: async (i, f) => {
          cache ??= await FeatureCache.open({
            dir,
            backboneHash: hashOf(-1),
            preprocessing: { imageSize: o.imageSize, channels: 3, normalize: 'imagenet', resize: 'fill' },
            featureLength: f.length,
          });
          await cache.put(hashOf(i), 'o', f);
        },
      },
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
