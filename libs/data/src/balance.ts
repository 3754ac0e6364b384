import { DataError } from './errors';

/** `'none'`, `'max'` (up to the largest class) or a count per class. */
export type BalanceTarget = 'none' | 'max' | number;

/**
 * How often one image may appear in a balanced epoch (original plus augmented
 * copies) unless told otherwise. Under label skew a hospital may hold three
 * images of a class and 300 of another; balancing to the largest class would
 * show each of those three 100 times an epoch. At 2 a rare class at most
 * doubles, so the epoch leans less toward the hospital's largest class without
 * learning a handful of images by heart (docs/DATA.md, "Balancing under label
 * skew"; docs/EXPERIMENTS.md for the sweep that chose it).
 */
export const DEFAULT_MAX_REPEAT = 2;

/** Per-class target count for `balance` (before the repeat bound). */
export function balanceTarget(counts: number[], balance: BalanceTarget): number {
  if (balance === 'none') return 0;
  if (balance === 'max') return Math.max(0, ...counts);
  if (!Number.isInteger(balance) || balance < 1) throw new DataError(`Expected balance to be 'none', 'max' or a positive integer, but got ${balance}`);
  return balance;
}

/** Checks a repeat bound: a positive integer, or 0 for no bound (the study's balancing). */
export function checkMaxRepeat(maxRepeat: number): number {
  if (!Number.isInteger(maxRepeat) || maxRepeat < 0) throw new DataError(`Expected maxRepeat to be a positive integer, or 0 for no bound, but got ${maxRepeat}`);
  return maxRepeat;
}

/**
 * How many examples each class gets in an epoch: its own count, raised toward
 * the balance target, but never past `maxRepeat` × its own count (0 = no
 * bound). A class above the target keeps all its images; an empty class stays empty.
 */
export function classTargets(counts: number[], balance: BalanceTarget, maxRepeat: number = DEFAULT_MAX_REPEAT): number[] {
  const target = balanceTarget(counts, balance);
  const bound = checkMaxRepeat(maxRepeat);
  return counts.map((n) => (n === 0 ? 0 : Math.max(n, bound === 0 ? target : Math.min(target, n * bound))));
}

/** Examples in one epoch of a data set with these class counts, before any `maxExamples` cap. */
export function epochLength(counts: number[], balance: BalanceTarget, maxRepeat: number = DEFAULT_MAX_REPEAT): number {
  return classTargets(counts, balance, maxRepeat).reduce((a, b) => a + b, 0);
}
