import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { locateCorpora } from './corpus';
import { REFUSED } from './refused';
import { runConformance } from './run';
import { conformanceTable, tableIn } from './table';

const DATA_MD = join(import.meta.dirname, '..', '..', '..', '..', 'docs', 'DATA.md');

// Prepare: the corpora and reference decoders come from Debian packages (.ci/run installs them).
const { corpora, missing } = locateCorpora();
const skip = missing.length > 0 && process.env.CI !== 'true' ? `needs Debian's python3-pydicom, python3-gdcm, python3-numpy, python3-pil and the test images of: ${missing.join('; ')}` : false;

test('every image of the reference corpora matches pydicom + gdcm or Pillow, or is refused on purpose', { skip }, async () => {
  assert.deepEqual(missing, [], `corpora missing on this CI machine: ${missing.join('; ')}`);
  // Execute
  const rows = await runConformance(corpora);
  // Assert: each file matches within 1e-6 (first frame, [0, 1] scale), or is refused as listed.
  const listed = new Map(REFUSED.map((r) => [`${r.corpus}/${r.name}`, r]));
  const problems: string[] = [];
  for (const row of rows) {
    const key = `${row.corpus}/${row.name}`;
    const refusal = listed.get(key);
    if (row.status === 'differs' || row.status === 'not refused') problems.push(`${key}: ${row.status} (${row.maxDiff ?? ''} ${row.reason ?? row.note ?? ''})`);
    if (row.status === 'refused' && !refusal) problems.push(`${key}: refused but not on the list in refused.ts (${row.reason})`);
    if (row.status === 'refused' && refusal && !refusal.reason.test(row.reason ?? '')) problems.push(`${key}: refused for another reason than the list says (${row.reason}; expected ${refusal.reason})`);
    if (refusal && row.status !== 'refused') problems.push(`${key}: on the refused list but ${row.status} now; take it off the list`);
  }
  for (const key of listed.keys()) if (!rows.some((r) => `${r.corpus}/${r.name}` === key)) problems.push(`${key}: on the refused list but not in the corpus`);
  assert.deepEqual(problems, []);
  assert.ok(rows.filter((r) => r.status === 'matched').length > 300, 'most files decode and match');
  // The table in docs/DATA.md is this run's.
  const doc = await readFile(DATA_MD, 'utf8');
  assert.equal(tableIn(doc), conformanceTable(corpora, rows), 'docs/DATA.md has another conformance table: run `npx tsx libs/data/scripts/conformance-table.ts`');
});
