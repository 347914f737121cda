/**
 * A small seeded generator for randomized tests, so a failure replays the same way.
 * @module
 */

/**
 * Returns a mulberry32 generator of floats in [0, 1) seeded with `seed`.
 *
 * @param seed Any 32-bit integer.
 * @returns The generator.
 * @example
 * ```ts
 * import { random } from "./_random.ts";
 * const rand = random(1);
 * rand() === random(1)(); // true
 * ```
 */
export function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
