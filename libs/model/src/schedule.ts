import { ModelError } from './errors';
import { formatTrainable, parseTrainable } from './trainable';
import type { TrainableSetting } from './trainable';

/** One stretch of a schedule: `rounds` consecutive rounds under one trainable setting. */
export interface ScheduleEntry {
  trainable: TrainableSetting;
  rounds: number;
}

/**
 * Parses `head:3,all:7` (head only for 3 rounds, then everything for 7), or
 * with a layer, `head:2,from:conv5_block1_0_bn:3,all:5`: comma-separated
 * `<trainable>:<rounds>`, the count after the last colon.
 */
export function parseSchedule(text: string): ScheduleEntry[] {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.length === 0 || parts.some((p) => p === '')) throw new ModelError(`Expected a schedule like head:3,all:7, but got "${text}"`);
  return parts.map((part) => {
    const colon = part.lastIndexOf(':');
    const count = colon > 0 ? part.slice(colon + 1) : '';
    if (!/^\d+$/.test(count) || Number(count) < 1) {
      throw new ModelError(`Expected each schedule entry as <all|head|from:layer>:<rounds ≥ 1> (e.g. head:3), but got "${part}"`);
    }
    return { trainable: parseTrainable(part.slice(0, colon)), rounds: Number(count) };
  });
}

export function formatSchedule(schedule: readonly ScheduleEntry[]): string {
  return schedule.map((e) => `${formatTrainable(e.trainable)}:${e.rounds}`).join(',');
}

/** Rounds the schedule spells out. */
export function scheduleRounds(schedule: readonly ScheduleEntry[]): number {
  return schedule.reduce((n, e) => n + e.rounds, 0);
}

/**
 * The setting of round `round` (1-based). Rounds past the schedule's end keep
 * its last setting.
 */
export function trainableForRound(schedule: readonly ScheduleEntry[], round: number): TrainableSetting {
  if (schedule.length === 0) throw new ModelError('Expected a schedule with at least one entry');
  if (!Number.isInteger(round) || round < 1) throw new ModelError(`Expected a round number ≥ 1, but got ${round}`);
  let end = 0;
  for (const e of schedule) {
    end += e.rounds;
    if (round <= end) return e.trainable;
  }
  return schedule[schedule.length - 1].trainable;
}
