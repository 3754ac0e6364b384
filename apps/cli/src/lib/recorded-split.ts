// Which split `fedxray evaluate` scores: the one recorded in the saved model
// unless a flag says otherwise, and never, unless allowed, images the model
// trained on.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SplitRecord, TrainingImages } from '@fedxray/data';
import { UsageError } from '../usage';

type DataLib = typeof import('@fedxray/data');

export interface ChosenSplit {
  seed: number;
  ratios: [number, number, number];
  /** Where the seed came from. */
  source: 'recorded in the model' | '--split-seed' | 'default (the model records no split)';
  recorded: SplitRecord | null;
  training: TrainingImages | null;
}

/** The model's recorded split and training images (null where it has none; a malformed record is refused). */
export function chooseSplit(data: DataLib, modelDir: string, meta: Record<string, unknown>, seedFlag: number | undefined): ChosenSplit {
  let recorded: SplitRecord | null = null;
  if (meta.split !== undefined) {
    const parsed = data.SplitRecordSchema.safeParse(meta.split);
    if (!parsed.success) throw new UsageError(`Expected the split recorded in ${join(modelDir, 'fedxray.json')} to be a split record, but: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    recorded = parsed.data;
  }
  let training: TrainingImages | null = null;
  const file = join(modelDir, data.TRAINING_IMAGES_FILE);
  if (existsSync(file)) {
    const parsed = data.TrainingImagesSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!parsed.success) throw new UsageError(`Expected ${file} to list the training images' content hashes, but: ${parsed.error.issues[0]?.message}`);
    training = parsed.data;
  }
  const source = seedFlag !== undefined ? '--split-seed' : recorded ? 'recorded in the model' : 'default (the model records no split)';
  return { seed: seedFlag ?? recorded?.seed ?? 0, ratios: recorded?.ratios ?? data.DEFAULT_SPLIT_RATIOS, source, recorded, training };
}

/** One line on the split used, and whether these test images are the run's. */
export function describeSplit(data: DataLib, chosen: ChosenSplit, split: string, items: { hash: string }[]): string {
  const ratios = chosen.ratios.map((r) => Math.round(r * 100) / 100).join(':');
  let line = `Split: content-hash, seed ${chosen.seed}, ratios ${ratios} (${chosen.source})`;
  const r = chosen.recorded;
  if (r && split === 'test' && chosen.seed === r.seed) {
    line += data.hashesFingerprint(items.map((it) => it.hash)) === r.testFingerprint
      ? `; the same ${r.counts.test} test images the run was scored on`
      : `; these ${items.length} test images are not the ${r.counts.test} the run was scored on (other data, or files added or removed)`;
  }
  return line;
}

/**
 * Refuses (UsageError) to score images the model trained on, by content hash,
 * unless `allow`; returns how many of them are among the items (0 when the
 * model lists no training images).
 */
export function checkTrainingOverlap(data: DataLib, chosen: ChosenSplit, items: { hash: string }[], split: string, allow: boolean): number {
  if (!chosen.training) return 0;
  const overlap = data.trainedOn(items, chosen.training).length;
  if (overlap > 0 && !allow) {
    const share = ((100 * overlap) / items.length).toFixed(0);
    throw new UsageError(
      `${overlap} of the ${items.length} images to score (${share} %, ${split} split, seed ${chosen.seed}) are among the model's training images (same content hash): ` +
        'their scores would overstate the model. Leave out --split and --split-seed to score the held-out test split recorded in the model, ' +
        'or give --allow-training-overlap to score them anyway (the report then says how many were trained on).',
    );
  }
  return overlap;
}
