/**
 * Taguchi's L9(3^4) orthogonal array: 9 trials, 4 factors, 3 levels each
 * (levels numbered 0, 1, 2). Every pair of columns holds each of the nine
 * level pairs exactly once, so every level of every factor is tried three
 * times, against each level of every other factor once.
 */
export const L9: readonly (readonly [number, number, number, number])[] = [
  [0, 0, 0, 0],
  [0, 1, 1, 1],
  [0, 2, 2, 2],
  [1, 0, 1, 2],
  [1, 1, 2, 0],
  [1, 2, 0, 1],
  [2, 0, 2, 1],
  [2, 1, 0, 2],
  [2, 2, 1, 0],
];

/** The designs `fedxray tune --design` knows. */
export const DESIGNS = { l9: L9 } as const;
export type DesignName = keyof typeof DESIGNS;
