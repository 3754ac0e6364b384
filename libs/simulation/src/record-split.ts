// The split a simulated run trained under, written into its saved model: a
// `split` field in fedxray.json and the training images' content hashes beside
// it, so `fedxray evaluate` uses the held-out images and refuses trained ones.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TRAINING_IMAGES_FILE, type SplitRecord, type TrainingImages } from '@fedxray/data';
import { writeFileAtomic } from '@fedxray/runtime';

/** The saved model's metadata file (@fedxray/model's META_FILE; simulation does not import the model lib). */
const META_FILE = 'fedxray.json';

/** Adds `split` to the model's fedxray.json (its other fields untouched) and writes training-images.json beside it. */
export function recordSplitInModel(modelDir: string, split: SplitRecord, training: TrainingImages): void {
  writeFileAtomic(join(modelDir, TRAINING_IMAGES_FILE), `${JSON.stringify(training)}\n`);
  const metaPath = join(modelDir, META_FILE);
  const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as Record<string, unknown>;
  writeFileAtomic(metaPath, `${JSON.stringify({ ...meta, split }, null, 2)}\n`);
}
