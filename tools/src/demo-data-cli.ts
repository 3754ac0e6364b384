/**
 * `node --import tsx tools/src/demo-data-cli.ts --out <dir> [--seed N] [--size PX]`
 * Generates the demo X-rays once (reused afterwards). Progress lines go to
 * stdout as JSON; the last line is the result.
 */
import { parseArgs } from 'node:util';
import { ensureDemoData } from './index';

const { values } = parseArgs({
  options: { out: { type: 'string' }, seed: { type: 'string' }, size: { type: 'string' } },
});
if (!values.out) {
  process.stderr.write('usage: demo-data-cli.ts --out <dir> [--seed N] [--size PX]\n');
  process.exit(2);
}
let last = 0;
const result = await ensureDemoData(
  values.out,
  {
    ...(values.seed ? { seed: Number(values.seed) } : {}),
    ...(values.size ? { size: Number(values.size) } : {}),
  },
  (done: number, total: number) => {
    if (done === total || Date.now() - last > 500) {
      last = Date.now();
      process.stdout.write(`${JSON.stringify({ progress: { done, total } })}\n`);
    }
  },
);
process.stdout.write(`${JSON.stringify(result)}\n`);
