/**
 * Small seeded random number generators: the same seed gives the same numbers on every machine.
 * @module
 */

/**
 * Mulberry32: a fast 32-bit generator returning floats in [0, 1).
 * @example
 * ```ts
 * const rand = mulberry32(1); rand(); // 0.627…
 * ```
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `n` standard normal numbers drawn from `seed` (Box–Muller), as the Float32Array a perturbation uses.
 * @example
 * ```ts
 * const eps = gaussianVector(123, 5);
 * ```
 */
export function gaussianVector(seed: number, n: number): Float32Array {
  const rand = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = 1 - rand();
    const u2 = rand();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/**
 * Derives a 32-bit seed from a base seed and indices (a hash), so that streams never overlap.
 * @example
 * ```ts
 * const episodeSeed = deriveSeed(42, iteration, episode);
 * ```
 */
export function deriveSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0x5bd1e995) >>> 0;
    h ^= h >>> 15;
  }
  return h >>> 0;
}
