// Log-space arithmetic and log(erfc) for the RDP accountant: the terms of the
// subsampled Gaussian's moments span hundreds of orders of magnitude.

/** log(eˣ + eʸ). */
export function logAdd(x: number, y: number): number {
  const a = Math.min(x, y);
  const b = Math.max(x, y);
  if (a === -Infinity) return b;
  return Math.log1p(Math.exp(a - b)) + b;
}

/** log(eˣ − eʸ) for x ≥ y. */
export function logSub(x: number, y: number): number {
  if (x < y) throw new RangeError(`logSub needs x ≥ y, got ${x} < ${y}`);
  if (y === -Infinity) return x;
  if (x === y) return -Infinity;
  const d = Math.expm1(x - y);
  return d === Infinity ? x : Math.log(d) + y;
}

const LOG_SQRT_PI = 0.5 * Math.log(Math.PI);

/** erf(x) by its everywhere-convergent series e^{−x²}·2/√π·Σ 2ⁿx^{2n+1}/(1·3·…·(2n+1)); accurate for |x| < 3. */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (Math.abs(term) < 1e-17 * Math.abs(sum)) break;
  }
  return ((2 / Math.sqrt(Math.PI)) * Math.exp(-x2)) * sum;
}

/**
 * log(√π·e^{x²}·erfc(x)) for x ≥ 0.5, by the continued fraction
 * erfc(x) = e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))) (modified Lentz).
 */
function logScaledErfcFraction(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 5000; k++) {
    const a = k / 2;
    d = x + a * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = x + a / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return -Math.log(f);
}

/** log(erfc(x)), accurate (relative ~1e-14) for all x, including where erfc(x) underflows. */
export function logErfc(x: number): number {
  if (x >= 0.5) return -x * x - LOG_SQRT_PI + logScaledErfcFraction(x);
  if (x > -0.5) return Math.log1p(-erfSeries(x));
  return Math.log(2 - Math.exp(-x * x - LOG_SQRT_PI + logScaledErfcFraction(-x)));
}
