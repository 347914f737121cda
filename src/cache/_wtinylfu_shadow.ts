/**
 * A keys-only W-TinyLFU over a hash-sampled subset of a cache's keys, holding as many of them as the
 * cache does, so a cache running as plain LRU can tell how W-TinyLFU would have done on the same requests. It
 * reads frequencies from the cache's own sketch, which counts every key, sampled or not.
 * @module
 */

/** The frequency estimates the shadow duels on: the cache's sketch. */
export interface FrequencySource {
  /** Estimated recent uses of a key hash, 0 to 15. */
  frequency(hash: number): number;
}

/** Protected's share of the main area, as in the cache. */
const PROTECTED_SHARE = 0.8;

/**
 * W-TinyLFU of key hashes (an LRU window, then a segmented LRU main behind a frequency duel), whose
 * capacity and window share the caller gives on each access. `Map`s keep insertion order, which is
 * recency order when a hit re-inserts.
 *
 * @example
 * ```ts
 * import { WTinyLfuShadow } from "./_wtinylfu_shadow.ts";
 * const counts = new Map<number, number>();
 * const sketch = { frequency: (h: number) => counts.get(h) ?? 0 };
 * const shadow = new WTinyLfuShadow(sketch);
 * shadow.access(1, 2, 0.5); // false: a miss
 * shadow.access(1, 2, 0.5); // true
 * ```
 */
export class WTinyLfuShadow {
  readonly #window = new Map<number, true>();
  readonly #probation = new Map<number, true>();
  readonly #protected = new Map<number, true>();
  #sketch: FrequencySource;
  /** What a key is shifted left by to make the hash the sketch was given. */
  readonly #shift: number;

  /**
   * @param sketch Where frequencies come from.
   * @param shift Bits the caller shifted hashes right by to make the keys it passes.
   */
  constructor(sketch: FrequencySource, shift = 0) {
    this.#sketch = sketch;
    this.#shift = shift;
  }

  /** Reads frequencies from `sketch` from now on, when the cache replaces its sketch. */
  set sketch(sketch: FrequencySource) {
    this.#sketch = sketch;
  }

  /**
   * Records a request for `key`.
   *
   * @param key A key hash, shifted right as the constructor was told.
   * @param capacity Entries the shadow holds now.
   * @param windowShare The window's share of them.
   * @returns Whether it would have hit.
   */
  access(key: number, capacity: number, windowShare: number): boolean {
    const window = this.#window;
    const probation = this.#probation;
    const prot = this.#protected;
    if (window.delete(key)) {
      window.set(key, true);
      return true;
    }
    if (probation.delete(key) || prot.delete(key)) {
      prot.set(key, true);
      this.#fit(capacity, windowShare);
      return true;
    }
    window.set(key, true);
    this.#fit(capacity, windowShare);
    return false;
  }

  /** Forgets every key. */
  clear(): void {
    this.#window.clear();
    this.#probation.clear();
    this.#protected.clear();
  }

  /** Overflows the window into main through the frequency duel, and protected into probation. */
  #fit(capacity: number, windowShare: number): void {
    const window = this.#window;
    const probation = this.#probation;
    const prot = this.#protected;
    const windowMax = Math.max(1, Math.round(windowShare * capacity));
    const mainMax = Math.max(0, capacity - windowMax);
    while (window.size > windowMax) {
      const candidate = oldest(window)!;
      window.delete(candidate);
      if (probation.size + prot.size < mainMax) {
        probation.set(candidate, true);
        continue;
      }
      const fromProbation = probation.size !== 0;
      const victim = fromProbation ? oldest(probation) : oldest(prot);
      if (victim === undefined) continue;
      // Ties go to the incumbent, as in the cache.
      if (this.#frequency(candidate) > this.#frequency(victim)) {
        (fromProbation ? probation : prot).delete(victim);
        probation.set(candidate, true);
      }
    }
    while (prot.size > PROTECTED_SHARE * mainMax) {
      const demoted = oldest(prot)!;
      prot.delete(demoted);
      probation.set(demoted, true);
    }
    // The capacity may have shrunk: give up main's oldest.
    while (probation.size + prot.size > mainMax) {
      const map = probation.size !== 0 ? probation : prot;
      map.delete(oldest(map)!);
    }
  }

  #frequency(key: number): number {
    return this.#sketch.frequency(key << this.#shift);
  }
}

function oldest(map: Map<number, true>): number | undefined {
  return map.keys().next().value;
}
