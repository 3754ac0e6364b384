// Writes the conformance suite's table of files into docs/DATA.md (between its markers), from a
// fresh run: npx tsx libs/data/scripts/conformance-table.ts
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { locateCorpora } from '../src/conformance/corpus';
import { runConformance } from '../src/conformance/run';
import { conformanceTable, tableIn } from '../src/conformance/table';

const path = join(import.meta.dirname, '..', '..', '..', 'docs', 'DATA.md');
const { corpora, missing } = locateCorpora();
if (missing.length) {
  console.error(`missing: ${missing.join('; ')}`);
  process.exit(1);
}
const started = Date.now();
const table = conformanceTable(corpora, await runConformance(corpora));
const doc = await readFile(path, 'utf8');
const old = tableIn(doc);
if (!old) {
  console.error(`${path} has no conformance table markers`);
  process.exit(1);
}
await writeFile(path, doc.replace(old, table));
console.log(`${path}: table written (${((Date.now() - started) / 1000).toFixed(1)} s)`);
