import { test } from 'node:test';
import assert from 'node:assert/strict';
import { P256_PLUS, PrimeField } from './field';
import { seededRandom } from './random';
import { SECRET_FIELD, reconstructBytes, reconstructSecret, shareWithCoefficients, splitBytes, splitSecret } from './shamir';
import { refused, rng, sample } from './testing';

test('Wikipedia\'s worked example over GF(1613): f(x) = 1234 + 166x + 94x²', () => {
  // en.wikipedia.org/wiki/Shamir's_secret_sharing, "Problem of using integer arithmetic":
  // the six shares of S = 1234, k = 3, coefficients 166 and 94, modulo p = 1613.
  const field = new PrimeField(1613n);
  const shares = shareWithCoefficients(1234n, [166n, 94n], [1, 2, 3, 4, 5, 6], field);
  assert.deepEqual(
    shares.map((s) => [s.x, Number(s.y)]),
    [
      [1, 1494],
      [2, 329],
      [3, 965],
      [4, 176],
      [5, 1188],
      [6, 775],
    ],
  );
  for (const pick of [[0, 1, 2], [1, 3, 5], [5, 4, 0], [2, 3, 4]]) {
    assert.equal(reconstructSecret(pick.map((i) => shares[i]), 3, field), 1234n);
  }
});

test('A Sage example over GF(101): shares (25, 98), (47, 57), (19, 31) of 56 + 10x + 5x²', () => {
  // A worked example circulated as a Sage session (FiniteField(101), polynomial 56 + 10x + 5x²,
  // shares at 25, 47 and 19); each share checks by hand, e.g. 56 + 10·25 + 5·25² = 3431 = 33·101 + 98.
  const field = new PrimeField(101n);
  const shares = [
    { x: 25, y: 98n },
    { x: 47, y: 57n },
    { x: 19, y: 31n },
  ];
  assert.equal(reconstructSecret(shares, 3, field), 56n);
  assert.deepEqual(
    shareWithCoefficients(56n, [10n, 5n], [25, 47, 19], field).map((s) => s.y),
    shares.map((s) => s.y),
  );
});

test('The protocol field agrees with an independent implementation (CPython integers)', () => {
  // Computed with CPython's arbitrary-precision ints, independently of this code:
  //   p = 2**256 + 297; s = int.from_bytes(bytes(range(32)), 'big')
  //   c1 = int.from_bytes(bytes(range(32, 64)), 'big'); c2 = int.from_bytes(bytes(range(64, 96)), 'big')
  //   for x in [1, 2, 3, 7, 100]: print(x, hex((s + c1*x + c2*x*x) % p))
  const big = (from: number) => SECRET_FIELD.fromBytes(Uint8Array.from({ length: 32 }, (_, i) => from + i));
  const expected = [
    [1, '0x606366696c6f7275787b7e8184878a8d909396999c9fa2a5a8abaeb1b4b7babd'],
    [2, '0x41484f565d646b727980878e959ca3aab1b8bfc6cdd4dbe2e9f0f7ff060d12f0'],
    [3, '0xa2afbcc9d6e3f0fe0b1825323f4c596673808d9aa7b4c1cedbe8f603101d27e1'],
    [7, '0x2d669fd9124b84bdf73069a2dc154e87c0fa336ca5df18518ac3fd366fa8d2f2'],
    [100, '0x821ebb57f4912dca6703a03cd97612af4be88521be5af79430cd6a06a3345fc1'],
  ] as const;
  const shares = shareWithCoefficients(big(0), [big(32), big(64)], expected.map(([x]) => x), SECRET_FIELD);
  assert.deepEqual(
    shares.map((s) => [s.x, '0x' + s.y.toString(16)]),
    expected.map(([x, y]) => [x, y]),
  );
  assert.deepEqual(reconstructBytes([shares[4], shares[1], shares[3]], 3), Uint8Array.from({ length: 32 }, (_, i) => i));
});

test('2²⁵⁶ + 297 is prime (Miller–Rabin, 20 fixed bases) and the smallest above 2²⁵⁶', () => {
  const modPow = (b: bigint, e: bigint, m: bigint) => {
    let r = 1n;
    for (let x = b % m, k = e; k > 0n; k >>= 1n, x = (x * x) % m) if (k & 1n) r = (r * x) % m;
    return r;
  };
  const probablyPrime = (n: bigint) => {
    if (n % 2n === 0n) return false;
    let d = n - 1n;
    let s = 0;
    while (d % 2n === 0n) [d, s] = [d / 2n, s + 1];
    const bases = [2n, 3n, 5n, 7n, 11n, 13n, 17n, 19n, 23n, 29n, 31n, 37n, 41n, 43n, 47n, 53n, 59n, 61n, 67n, 71n];
    return bases.every((a) => {
      let x = modPow(a, d, n);
      if (x === 1n || x === n - 1n) return true;
      for (let i = 1; i < s; i++) if ((x = (x * x) % n) === n - 1n) return true;
      return false;
    });
  };
  assert.equal(P256_PLUS, 2n ** 256n + 297n);
  assert.ok(probablyPrime(P256_PLUS));
  for (let k = 1n; k < 297n; k++) assert.equal(probablyPrime(2n ** 256n + k), false, `2^256 + ${k}`);
});

test('Any t of n shares reconstruct a 32-byte secret; fewer are refused', () => {
  const random = seededRandom('shamir property');
  const next = rng(7);
  for (const [t, n] of [[2, 2], [2, 5], [3, 7], [6, 10], [10, 10]]) {
    const secret = new Uint8Array(32);
    random.fill(secret);
    const points = sample(Array.from({ length: 60 }, (_, i) => i + 1), n, next);
    const shares = splitBytes(secret, t, points, random);
    for (let trial = 0; trial < 5; trial++) {
      const subset = sample(shares, t + Math.floor(next() * (n - t + 1)), next);
      assert.deepEqual(reconstructBytes(subset, t), secret, `t ${t}, n ${n}, points ${subset.map((s) => s.x)}`);
    }
    refused(() => reconstructBytes(shares.slice(0, t - 1), t), 'too_few_survivors', new RegExp(`at least ${t} shares`));
  }
});

test('t − 1 shares reveal nothing: in GF(11) every pair of share values is equally likely for every secret', () => {
  // Exhaustive: for threshold 3, the map (c₁, c₂) ↦ (f(x₁), f(x₂)) is a bijection of GF(11)² for each secret,
  // so the two shares an adversary holds are uniform whatever the secret.
  const field = new PrimeField(11n);
  for (const xs of [[1, 2], [3, 10], [4, 7]]) {
    for (let secret = 0n; secret < 11n; secret++) {
      const seen = new Set<string>();
      for (let c1 = 0n; c1 < 11n; c1++) {
        for (let c2 = 0n; c2 < 11n; c2++) {
          seen.add(shareWithCoefficients(secret, [c1, c2], xs, field).map((s) => s.y).join(','));
        }
      }
      assert.equal(seen.size, 121, `secret ${secret}, points ${xs}`);
    }
  }
});

test('t − 1 shares reveal nothing: sampled shares in GF(13) pass a χ² test of uniformity for two different secrets', () => {
  const field = new PrimeField(13n);
  const random = seededRandom('shamir chi-square');
  const draws = 4056; // 24 per cell of the 13 × 13 pairs
  for (const secret of [0n, 9n]) {
    const counts = new Array(169).fill(0);
    for (let i = 0; i < draws; i++) {
      const [a, b] = splitSecret(secret, 3, [2, 5, 11], field, random);
      counts[Number(a.y) * 13 + Number(b.y)]++;
    }
    const expected = draws / 169;
    const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    // 168 degrees of freedom: the 0.999 quantile is about 229.
    assert.ok(chi2 < 229, `secret ${secret}: χ² ${chi2.toFixed(1)}`);
  }
});

test('Bad points and thresholds are refused', () => {
  const field = new PrimeField(13n);
  const random = seededRandom(1);
  refused(() => splitSecret(1n, 3, [1, 2], field, random), 'bad_config', /threshold in 1\.\.2/);
  refused(() => splitSecret(1n, 2, [1, 1, 2], field, random), 'bad_config', /appears twice/);
  refused(() => splitSecret(1n, 2, [0, 1], field, random), 'bad_config', /points in 1\.\.12/);
  refused(() => splitSecret(1n, 2, [1, 13], field, random), 'bad_config', /points in 1\.\.12/);
  refused(() => splitSecret(13n, 2, [1, 2], field, random), 'bad_config', /secret in \[0, 13\)/);
  refused(() => splitBytes(new Uint8Array(31), 2, [1, 2], random), 'wrong_length');
});
