import { readFile, writeFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { parseIntOption, UsageError } from '../usage';

/** "8:1:1" or "0.8,0.1,0.1" → three ratios. */
export function parseRatios(value: string): [number, number, number] {
  const parts = value.split(/[:,]/).map((v) => Number(v));
  if (parts.length !== 3 || parts.some((x) => !Number.isFinite(x) || x < 0) || parts[0] + parts[1] + parts[2] <= 0) {
    throw new UsageError(`Expected --ratios as train:val:test like 8:1:1, but got ${value}`);
  }
  return parts as [number, number, number];
}

function parseClasses(value: string): string[] {
  const xs = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (xs.length === 0) throw new UsageError(`Expected --classes as a comma-separated list, but got "${value}"`);
  return xs;
}

function parseTarget(value: string): 'max' | number {
  if (value === 'max') return 'max';
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`Expected --target to be "max" or a positive integer (the study used 1500), but got ${value}`);
  return n;
}

async function readAugmentConfig(path: string | undefined): Promise<unknown> {
  if (!path) return {};
  const { AugmentConfigSchema } = await import('@fedxray/data');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`Expected --augment to name a JSON file, but reading ${path} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  const r = AugmentConfigSchema.safeParse(raw);
  if (!r.success) throw new UsageError(`Bad augmentation config in ${path}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return r.data;
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

function table(rows: (string | number)[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows.map((r) => r.map((v, c) => (c === 0 ? String(v).padEnd(widths[c]) : String(v).padStart(widths[c]))).join('  ')).join('\n');
}

const datasetOptions = (cmd: Command) =>
  cmd
    .option('--classes <list>', 'fix the class order (comma-separated); other folders are reported as skipped', parseClasses)
    .addOption(new Option('--ratios <t:v:t>', 'train:val:test ratios when the folder is not pre-split').argParser(parseRatios).default([8, 1, 1], '8:1:1'))
    .option('--seed <n>', 'split seed (the same seed always gives the same split)', parseIntOption('--seed'), 0);

function inspectCommand(): Command {
  return datasetOptions(
    new Command('inspect')
      .description('Scan and decode every image of a data set folder: classes, counts per class and split, skipped files with reasons, duplicates, sizes and bit depths')
      .argument('<dir>', 'one folder per class, or train/ val/ test/ folders holding class folders')
      .option('--json', 'print the report as JSON'),
  ).action(async (dir: string, opts: { json?: boolean; classes?: string[]; ratios: [number, number, number]; seed: number }) => {
    const { inspectDataset } = await import('@fedxray/data');
    const { report: r } = await inspectDataset(dir, { classes: opts.classes, ratios: opts.ratios, seed: opts.seed });
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      return;
    }
    const lines: string[] = [];
    lines.push(`${r.root}: ${r.layout === 'class-folders' ? 'class folders' : 'train/val/test folders'} · ${r.classes.length} classes · ${r.images} images (${mib(r.bytes)})`);
    lines.push('');
    lines.push(
      table([
        ['class', 'images', 'train', 'val', 'test'],
        ...r.classes.map((c) => [c, r.perClass[c], r.perSplit.train[c], r.perSplit.val[c], r.perSplit.test[c]]),
      ]),
    );
    lines.push('');
    const kv = (o: Record<string, number>, suffix = '') =>
      Object.entries(o)
        .map(([k, v]) => `${k}${suffix} ${v}`)
        .join(', ');
    lines.push(`formats: ${kv(r.formats)}`);
    lines.push(`bit depth: ${kv(r.bitDepth, '-bit')} · channels: ${kv(r.channels, 'ch')}`);
    if (r.width && r.height) {
      lines.push(`width ${r.width.min}–${r.width.max} (mean ${r.width.mean}), height ${r.height.min}–${r.height.max} (mean ${r.height.mean})`);
      lines.push(`common sizes: ${kv(r.commonSizes, ' ×')}`);
    }
    lines.push(`skipped: ${r.skipped.count}`);
    for (const s of r.skipped.files) lines.push(`  ${s.path}: ${s.reason}`);
    lines.push(`duplicates: ${r.duplicates.groups} groups, ${r.duplicates.extraCopies} extra copies, ${r.duplicates.crossClass} across classes`);
    for (const d of r.duplicates.list.slice(0, 20)) lines.push(`  ${d.paths.join(' = ')}${d.classes.length > 1 ? '  (different classes!)' : ''}`);
    if (r.duplicates.list.length > 20) lines.push(`  … ${r.duplicates.list.length - 20} more (see --json)`);
    if (r.leakingDuplicates.length) lines.push(`left out of val/test as copies of an earlier split: ${r.leakingDuplicates.join(', ')}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  });
}

function splitCommand(): Command {
  return datasetOptions(
    new Command('split')
      .description('Show (and optionally save) the stratified, hash-stable train/val/test split the trainers use')
      .argument('<dir>', 'data set folder')
      .option('--out <file>', 'write the split as JSON: {classes, train, val, test} with paths relative to <dir>')
      .option('--json', 'print counts as JSON'),
  ).action(async (dir: string, opts: { out?: string; json?: boolean; classes?: string[]; ratios: [number, number, number]; seed: number }) => {
    const { scanDataset, splitDataset, relativePath } = await import('@fedxray/data');
    const ds = await scanDataset(dir, { classes: opts.classes });
    const s = splitDataset(ds, { ratios: opts.ratios, seed: opts.seed });
    const counts = Object.fromEntries(
      (['train', 'val', 'test'] as const).map((k) => [k, Object.fromEntries(ds.classes.map((c) => [c, s[k].filter((i) => i.className === c).length]))]),
    );
    if (opts.out) {
      const rel = (xs: typeof s.train) => xs.map((i) => relativePath(ds, i.path));
      await writeFile(opts.out, `${JSON.stringify({ classes: ds.classes, seed: opts.seed, ratios: opts.ratios, train: rel(s.train), val: rel(s.val), test: rel(s.test) }, null, 2)}\n`);
    }
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ presplit: ds.presplit, classes: ds.classes, counts, skipped: ds.skipped.length, dropped: s.dropped.length }, null, 2)}\n`);
      return;
    }
    process.stdout.write(
      `${table([
        ['class', 'train', 'val', 'test'],
        ...ds.classes.map((c) => [c, counts.train[c], counts.val[c], counts.test[c]]),
        ['total', s.train.length, s.val.length, s.test.length],
      ])}\n${ds.presplit ? 'splits from the train/val/test folders' : `split by content hash, ratios ${opts.ratios.join(':')}, seed ${opts.seed}`}${opts.out ? `; written to ${opts.out}` : ''}\n`,
    );
  });
}

function previewCommand(): Command {
  return datasetOptions(
    new Command('preview')
      .description('Write a PNG grid: each row an original followed by augmented samples of it')
      .argument('<dir>', 'data set folder')
      .requiredOption('--out <file.png>', 'where to write the grid')
      .option('--images <n>', 'rows (source images, classes in turn)', parseIntOption('--images', 1), 6)
      .option('--per-image <n>', 'augmented samples per row', parseIntOption('--per-image', 1), 5)
      .option('--image-size <px>', 'tile size', parseIntOption('--image-size', 16), 160)
      .option('--augment <config.json>', 'augmentation config (JSON, fields as in docs/DATA.md); default: the study\'s')
      .addOption(new Option('--split <name>', 'take images from this split').choices(['train', 'val', 'test', 'all']).default('train')),
  ).action(async (dir: string, opts: { out: string; images: number; perImage: number; imageSize: number; augment?: string; split: string; classes?: string[]; ratios: [number, number, number]; seed: number }) => {
    const augment = await readAugmentConfig(opts.augment);
    const { scanDataset, splitDataset, previewGrid, relativePath } = await import('@fedxray/data');
    const ds = await scanDataset(dir, { classes: opts.classes });
    const items = opts.split === 'all' ? ds.items : splitDataset(ds, { ratios: opts.ratios, seed: opts.seed })[opts.split as 'train' | 'val' | 'test'];
    const { png, rows, skipped } = await previewGrid(items, { images: opts.images, perImage: opts.perImage, imageSize: opts.imageSize, seed: opts.seed, augment: augment as never });
    await writeFile(opts.out, png);
    process.stdout.write(`wrote ${opts.out}: ${rows.length} rows × ${opts.perImage + 1} tiles of ${opts.imageSize}px\n`);
    for (const r of rows) process.stdout.write(`  ${relativePath(ds, r.path)}: ${r.ops.map((o) => o.join('+') || 'none').join(' | ')}\n`);
    for (const s of skipped) process.stdout.write(`  skipped ${relativePath(ds, s.path)}: ${s.reason}\n`);
  });
}

function augmentCommand(): Command {
  return datasetOptions(
    new Command('augment')
      .description('Balance the training split on disk as the study did: write augmented copies of every class below the target')
      .argument('<dir>', 'data set folder')
      .requiredOption('--out <dir>', 'folder for the copies (<out>/<class>/aug-*.png); originals are not copied')
      .option('--target <max|n>', 'images per class after balancing: the largest class, or a number (the study: 1500)', parseTarget, 'max' as const)
      .option('--image-size <px>', 'side of the written copies', parseIntOption('--image-size', 16), 224)
      .option('--augment <config.json>', 'augmentation config (JSON); default: the study\'s')
      .option('--json', 'print the counts as JSON'),
  ).action(async (dir: string, opts: { out: string; target: 'max' | number; imageSize: number; augment?: string; json?: boolean; classes?: string[]; ratios: [number, number, number]; seed: number }) => {
    const augment = await readAugmentConfig(opts.augment);
    const { scanDataset, splitDataset, writeAugmented } = await import('@fedxray/data');
    const ds = await scanDataset(dir, { classes: opts.classes });
    const train = splitDataset(ds, { ratios: opts.ratios, seed: opts.seed }).train;
    // The plan counts decodable images only: files that fail to decode are skipped, never drawn.
    const { written, sources, skipped } = await writeAugmented(train, opts.out, { target: opts.target, imageSize: opts.imageSize, seed: opts.seed, augment: augment as never, numClasses: ds.classes.length });
    const before = Object.fromEntries(ds.classes.map((c) => [c, sources[c] ?? 0]));
    const result = { out: opts.out, before, written: Object.fromEntries(ds.classes.map((c) => [c, written[c] ?? 0])), skipped };
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return;
    }
    process.stdout.write(
      `${table([
        ['class', 'train', 'copies', 'after'],
        ...ds.classes.map((c) => [c, before[c], result.written[c], before[c] + result.written[c]]),
      ])}\ncopies written to ${opts.out}${skipped.length ? `; ${skipped.length} undecodable training files skipped (not counted, never copied)` : ''}\n`,
    );
    for (const s of skipped) process.stdout.write(`  ${s.path}: ${s.reason}\n`);
  });
}

/** `fedxray data …`: look at, split, preview and balance a hospital's image folder. */
export function dataCommand(): Command {
  return new Command('data')
    .description('Inspect, split, preview and balance a data set folder (PNG, JPEG, BMP, TIFF, WebP, DICOM)')
    .addCommand(inspectCommand())
    .addCommand(splitCommand())
    .addCommand(previewCommand())
    .addCommand(augmentCommand());
}
