// What a saved model and its run record about the split they were trained
// under, so that an evaluation can use the same held-out images and refuse
// images the model trained on.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Splits } from './split';

/** The file, beside a saved model, listing the content hashes of its training images. */
export const TRAINING_IMAGES_FILE = 'training-images.json';

export const SplitRecordSchema = z.object({
  /** content-hash: each file went where its SHA-256 and the seed point; folders: (some of) the data had its own train/val/test folders. */
  method: z.enum(['content-hash', 'folders']),
  seed: z.number().int(),
  /** train : val : test, normalised. */
  ratios: z.tuple([z.number(), z.number(), z.number()]),
  counts: z.object({ train: z.number().int(), val: z.number().int(), test: z.number().int() }),
  /** SHA-256 over the sorted, distinct content hashes of the test images (one per line). */
  testFingerprint: z.string().regex(/^[0-9a-f]{64}$/),
});
export type SplitRecord = z.infer<typeof SplitRecordSchema>;

export const TrainingImagesSchema = z.object({
  format: z.literal('fedxray-training-images'),
  version: z.literal(1),
  /** Sorted, distinct SHA-256 content hashes (hex). */
  hashes: z.array(z.string().regex(/^[0-9a-f]{64}$/)),
});
export type TrainingImages = z.infer<typeof TrainingImagesSchema>;

function distinctSorted(hashes: Iterable<string>): string[] {
  return [...new Set(hashes)].sort();
}

/** SHA-256 over the sorted, distinct content hashes, one per line: equal fingerprints, equal sets of images. */
export function hashesFingerprint(hashes: Iterable<string>): string {
  return createHash('sha256').update(distinctSorted(hashes).join('\n')).digest('hex');
}

/** The record of one or more sites' splits made with the same seed and ratios. */
export function recordSplit(splits: Splits[], options: { seed: number; ratios: [number, number, number]; presplit: boolean }): SplitRecord {
  const all = (k: 'train' | 'val' | 'test') => splits.flatMap((s) => s[k]);
  const sum = options.ratios[0] + options.ratios[1] + options.ratios[2];
  return {
    method: options.presplit ? 'folders' : 'content-hash',
    seed: options.seed,
    ratios: [options.ratios[0] / sum, options.ratios[1] / sum, options.ratios[2] / sum],
    counts: { train: all('train').length, val: all('val').length, test: all('test').length },
    testFingerprint: hashesFingerprint(all('test').map((it) => it.hash)),
  };
}

/** The training images' content hashes, as TRAINING_IMAGES_FILE holds them. */
export function trainingImages(splits: Splits[]): TrainingImages {
  return { format: 'fedxray-training-images', version: 1, hashes: distinctSorted(splits.flatMap((s) => s.train.map((it) => it.hash))) };
}

/** The items whose content is among the training images (same SHA-256). */
export function trainedOn<T extends { hash: string }>(items: T[], training: TrainingImages): T[] {
  const trained = new Set(training.hashes);
  return items.filter((it) => trained.has(it.hash));
}
