/**
 * A model of part (a) of `bench avalanche` without a database: keys loaded evenly over a window, each
 * reloaded the moment it expires, lifetimes drawn by a jitter rule. It gives the busiest 1 s of reloads that
 * a rule allows at best, so the benchmark can tell a rule that falls short from a floor no rule can pass.
 * @module
 */

/** How a jitter of `j` turns the TTL into a lifetime, given a uniform draw `u` in [0, 1). */
export type JitterRule = (ttlMs: number, j: number, u: number) => number;

/** The shipped rule: lifetimes shortened by up to `j` of the TTL, never longer than it. */
export const shorten: JitterRule = (ttl, j, u) => ttl * (1 - j * u);
/** Lifetimes spread evenly around the TTL: as many longer as shorter, the mean stays the TTL. */
export const around: JitterRule = (ttl, j, u) => ttl * (1 + j * (2 * u - 1));
/** Lifetimes lengthened by up to `j` of the TTL: the TTL becomes a minimum. */
export const lengthen: JitterRule = (ttl, j, u) => ttl * (1 + j * u);

/** A small seeded generator (mulberry32), so the model prints the same figures on every run. */
function seeded(seed: number): () => number {
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
 * The most reloads in any 1 s window until `untilMs`, for `keys` keys first loaded evenly over `loadMs`.
 *
 * @example
 * ```ts
 * import { peakReloads, shorten } from "./_expiry_model.ts";
 * peakReloads({ keys: 1000, ttlMs: 5000, loadMs: 1000, untilMs: 13000, jitter: 0, rule: shorten }); // 1000
 * ```
 */
export function peakReloads(
  o: { keys: number; ttlMs: number; loadMs: number; untilMs: number; jitter: number; rule: JitterRule },
): number {
  const random = seeded(1);
  const reloads: number[] = [];
  for (let i = 0; i < o.keys; i++) {
    let t = (i * o.loadMs) / o.keys;
    for (;;) {
      t += o.rule(o.ttlMs, o.jitter, random());
      if (t >= o.untilMs) break;
      reloads.push(t);
    }
  }
  reloads.sort((a, b) => a - b);
  let peak = 0;
  for (let end = 0, start = 0; end < reloads.length; end++) {
    while (reloads[start] <= reloads[end] - 1000) start++;
    peak = Math.max(peak, end - start + 1);
  }
  return peak;
}
