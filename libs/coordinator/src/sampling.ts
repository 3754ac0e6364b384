import { mulberry32 } from '@fedxray/runtime';

/** k items drawn without replacement by a seeded Fisher–Yates shuffle. */
export function sample<T>(items: T[], k: number, random: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a.slice(0, k);
}

/**
 * The hospitals of one round's fit: max(minFit, ⌈fractionFit × available⌉) of
 * the available ones (at most all), drawn with a generator seeded by the run's
 * seed, the round and the attempt, so a rerun draws the same; in name order.
 */
export function sampleHospitals<T extends { name: string }>(
  available: T[],
  options: { minFit: number; fractionFit: number; seed: number },
  round: number,
  attempt: number,
): T[] {
  const k = Math.min(available.length, Math.max(options.minFit, Math.ceil(options.fractionFit * available.length)));
  return sample(available, k, mulberry32(options.seed * 1000 + round * 7 + attempt)).sort((a, b) => a.name.localeCompare(b.name));
}
