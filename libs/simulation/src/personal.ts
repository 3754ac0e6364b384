import type { DataSource } from '@fedxray/hospital';
import type { NamedWeights } from '@fedxray/protocol';
import type { SimulationOptions } from './options';
import { armSettings, openTrainer, RANDOM_START, testScore, trainEpochs, type ArmSettings, type ArmStart, type TestScore } from './local-training';

/** One hospital's row: each model scored on that hospital's own test split. */
export interface PersonalRow {
  hospital: string;
  testImages: number;
  /** The federation's final global model. */
  global: TestScore;
  /** The global model after `fineTune.epochs` local epochs at this hospital (when asked for). */
  fineTuned?: TestScore;
  /** A model trained on this hospital's data alone, as long as the federation trained (with `baseline`). */
  alone?: TestScore;
}

/** The table a hospital reads to decide whether joining was worth it (summary.json `personalised`). */
export interface PersonalTable {
  hospitals: PersonalRow[];
  /** How the fine-tuned and alone models were trained; absent when that column was not asked for. */
  fineTune?: ArmSettings;
  alone?: ArmSettings;
}

export interface PersonalSite {
  name: string;
  source: DataSource;
  images: { train: number; test: number };
}

/**
 * Scores the global model, a fine-tuned copy (`o.fineTune`) and a model
 * trained alone (`o.baseline`) on each hospital's test split, one hospital
 * at a time (one trainer open at once).
 */
export async function scorePerHospital(
  o: SimulationOptions,
  sites: PersonalSite[],
  global: NamedWeights,
  model: Record<string, unknown>,
  classes: string[],
  start: ArmStart = RANDOM_START,
  cacheDir?: (site: string) => string,
): Promise<PersonalTable> {
  const table: PersonalTable = { hospitals: [] };
  for (const site of sites) {
    const trainer = await openTrainer(o, site.source, model, classes, cacheDir?.(site.name));
    try {
      const row: PersonalRow = { hospital: site.name, testImages: site.images.test, global: await testScore(trainer, global) };
      if (o.fineTune) {
        // one epoch as the federation's last round trained
        table.fineTune = armSettings(o, model, 1, site.images, undefined, start, () => o.rounds);
        row.fineTuned = await testScore(trainer, await trainEpochs(trainer, global, table.fineTune));
      }
      if (o.baseline) {
        table.alone = armSettings(o, model, o.rounds * o.localEpochs, site.images, undefined, start);
        row.alone = await testScore(trainer, await trainEpochs(trainer, start.weights, table.alone));
      }
      table.hospitals.push(row);
    } finally {
      await trainer.close();
    }
  }
  return table;
}

const fixed = (v: number | undefined) => (v === undefined ? '–' : v.toFixed(3));

/** report.md's section: one row per hospital, test accuracy of each model. */
export function personalMarkdown(table: PersonalTable): string {
  const lines = [
    '## Per hospital: global, fine-tuned, alone',
    '',
    "Test accuracy on each hospital's own test split: the federation's global model, that model after one local epoch at the hospital (`--fine-tune`), and a model the hospital trained alone for as many epochs as the federation ran (`--baseline`).",
    '',
    '| hospital | test images | global | fine-tuned | alone |',
    '| --- | --- | --- | --- | --- |',
    ...table.hospitals.map((r) => `| ${r.hospital} | ${r.testImages} | ${fixed(r.global.accuracy)} | ${fixed(r.fineTuned?.accuracy)} | ${fixed(r.alone?.accuracy)} |`),
    '',
  ];
  return lines.join('\n');
}
