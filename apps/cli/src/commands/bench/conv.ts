import { Command } from 'commander';
import { parseIntOption } from '../../usage';

/** `fedxray bench conv`: the wasm convolution kernels against tfjs-wasm's stock one, per DenseNet-121 shape. */
export function benchConvCommand(): Command {
  return new Command('conv')
    .description(
      "Time the wasm training kernels' convolutions (forward and filter gradient) against tfjs-wasm's stock XNNPACK forward on DenseNet-121's shapes, in one process",
    )
    .option('--batch <n>', 'images per convolution', parseIntOption('--batch', 1), 4)
    .option('--repeats <n>', 'timed calls per kernel and shape; the median is reported', parseIntOption('--repeats', 1), 7)
    .option('--json', 'print one JSON object')
    .action(async (o: { batch: number; repeats: number; json?: boolean }) => {
      const { benchConv } = await import('@fedxray/model');
      const r = await benchConv(o);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        return;
      }
      const gf = (mflop: number, ms: number) => (mflop / ms).toFixed(1);
      const lines = [`batch ${r.batch}, median of ${r.repeats}, kernels ${r.kernelSimd}; ms (GFLOP/s)`];
      for (const s of r.rows) {
        lines.push(
          `  ${s.size}×${s.size} ${s.channels}→${s.filters} ${s.kernel}×${s.kernel}/${s.stride}: forward ${s.forwardMs.toFixed(2)} (${gf(s.mflop, s.forwardMs)}), ` +
            `stock ${s.stockForwardMs.toFixed(2)} (${gf(s.mflop, s.stockForwardMs)}), filter gradient ${s.filterGradMs.toFixed(2)} (${gf(s.mflop, s.filterGradMs)}); ` +
            `max relative difference ${s.maxRelDiff.toExponential(1)}`,
        );
      }
      lines.push(`  total: forward ${r.forwardMs.toFixed(1)} ms, stock ${r.stockForwardMs.toFixed(1)} ms, filter gradient ${r.filterGradMs.toFixed(1)} ms`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
