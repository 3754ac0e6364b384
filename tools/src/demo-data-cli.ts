/**
 * Generates (or reuses) the demo data set from the command line, reporting as
 * JSON lines on stdout: `{"progress":{"done":n,"total":m}}` while it works, then
 * `{"out":…,"classes":[…],"counts":{…},"reused":…}`. Run by `fedxray simulate --demo`
 * as its own process. Usage:
 *   node --import tsx tools/src/demo-data-cli.ts --out <cache dir> [--seed n] [--size px]
 * The data set goes to <cache dir>/xray-demo.
 */
import { parseArgs } from 'node:util';
import { ensureDemoData } from './xray/generate';

function intFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) {
    process.stderr.write(`--${name}: expected an integer, got ${JSON.stringify(value)}\n`);
    process.exit(2);
  }
  return n;
}

const { values } = parseArgs({ options: { out: { type: 'string' }, seed: { type: 'string' }, size: { type: 'string' } } });
if (!values.out) {
  process.stderr.write('usage: demo-data-cli.ts --out <cache dir> [--seed n] [--size px]\n');
  process.exit(2);
}
let lastPct = -1;
try {
  const result = await ensureDemoData(values.out, { seed: intFlag('seed', values.seed), size: intFlag('size', values.size) }, (done, total) => {
    const pct = Math.floor((100 * done) / total);
    if (pct !== lastPct || done === total) {
      lastPct = pct;
      process.stdout.write(`${JSON.stringify({ progress: { done, total } })}\n`);
    }
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (e) {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
