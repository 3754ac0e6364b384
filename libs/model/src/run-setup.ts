// What a run's configuration needs from the model library before anything
// starts: the preprocessing its starting weights call for, and what trains
// in each round. Both are checked at once, so a bad setting fails the start.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelError } from './errors';
import { META_FILE } from './io';
import { preprocessingFor, type Normalize, type Preprocessing } from './preprocess';
import { parseSchedule, scheduleRounds, type ScheduleEntry } from './schedule';
import { ModelSpecSchema, type ModelSpec } from './spec';
import { parseWeightsSourceSync, type SavedPreprocessing } from './starting-weights';
import { parseTrainable, planTrainable } from './trainable';

/** The channels and normalisation a model folder's fedxray.json records, if it has one. */
function savedPreprocessing(dir: string): SavedPreprocessing | undefined {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(join(dir, META_FILE), 'utf8'));
  } catch {
    return undefined;
  }
  const spec = ModelSpecSchema.safeParse(raw.spec);
  if (!spec.success) return undefined;
  const normalize = raw.normalize === 'imagenet' || raw.normalize === 'rescale' ? raw.normalize : spec.data.normalize;
  return { channels: spec.data.channels, imageSize: spec.data.imageSize, normalize };
}

/**
 * The preprocessing a `--weights` source calls for (see `preprocessingFor`),
 * given what the configuration asked for: `channels` and `normalize` as given
 * (absent: chosen to fit the weights). Refuses a source that does not exist
 * and channels the weights cannot take. Reads a model folder's fedxray.json.
 */
export function weightsPreprocessing(weights: string, requested: { channels?: number; normalize?: Normalize }): Preprocessing {
  const source = parseWeightsSourceSync(weights);
  return preprocessingFor(source, requested, source.kind === 'folder' ? savedPreprocessing(source.path) : undefined);
}

/**
 * What trains, round by round: `schedule` (e.g. `head:3,all:7`), or one
 * `trainable` setting for every round. Every setting is checked against the
 * spec's model (an unknown `from:` layer is refused, with close names), and a
 * schedule may not spell out more rounds than the run has. Null when neither
 * is given: the hospitals train the model as built.
 */
export function trainingSchedule(spec: ModelSpec, o: { trainable?: string; schedule?: string; rounds: number }): ScheduleEntry[] | null {
  if (o.trainable !== undefined && o.schedule !== undefined) {
    throw new ModelError(`Give either trainable (${o.trainable}) or schedule (${o.schedule}), not both: a schedule says what trains in every round`);
  }
  if (o.trainable === undefined && o.schedule === undefined) return null;
  const schedule = o.schedule !== undefined ? parseSchedule(o.schedule) : [{ trainable: parseTrainable(o.trainable!), rounds: o.rounds }];
  for (const e of schedule) planTrainable(spec, e.trainable);
  const spelled = scheduleRounds(schedule);
  if (spelled > o.rounds) {
    throw new ModelError(`The schedule ${o.schedule} spells out ${spelled} rounds, but the run has ${o.rounds}: give ${spelled} rounds, or shorten the schedule`);
  }
  return schedule;
}
