/**
 * A count-min sketch of 4-bit counters that estimates how often each key was seen recently, in about
 * two bytes per cached entry. Every `sampleSize` additions it halves all counters, so the estimates
 * follow what is popular now rather than what was popular once.
 * @module
 */

/** Rows of counters; a key's estimate is its smallest counter across them. */
const ROWS = 4;
/** Odd multipliers, one per row, that scatter a key's hash to a different counter in each row. */
const ROW_SEEDS = [0x9e3779b1, 0x85ebca77, 0xc2b2ae3d, 0x27d4eb2f];
/** The largest value a 4-bit counter holds. */
const MAX_COUNT = 15;
/** Additions per counter between halvings: ten per entry, so a key needs a steady rate to stay hot. */
const SAMPLE_FACTOR = 10;

/**
 * Approximate access counts of 32-bit key hashes, saturating at 15. Counters are packed eight to a
 * `Uint32Array` word, so halving is one shift and mask per word.
 *
 * @example
 * ```ts
 * import { FrequencySketch } from "./_frequency_sketch.ts";
 * const sketch = new FrequencySketch(1000);
 * sketch.increment(42);
 * sketch.increment(42);
 * sketch.frequency(42); // 2
 * sketch.frequency(7); // 0, almost surely
 * ```
 */
export class FrequencySketch {
  /** Additions since the last halving, after which every counter is halved. */
  readonly sampleSize: number;
  readonly #table: Uint32Array;
  /** Right shift that turns a scattered 32-bit hash into a counter index within a row. */
  readonly #shift: number;
  /** log2 of the words in one row. */
  readonly #rowBits: number;
  #additions = 0;

  /**
   * Makes a sketch with zeroed counters sized for about `capacity` distinct hot keys.
   *
   * @param capacity Expected number of cached entries; rounded up to a power of two, at least 16.
   */
  constructor(capacity: number) {
    let width = 16;
    while (width < capacity && width < 1 << 30) width *= 2;
    const bits = Math.log2(width);
    this.#shift = 32 - bits;
    this.#rowBits = bits - 3;
    this.#table = new Uint32Array(ROWS * (width >>> 3));
    this.sampleSize = SAMPLE_FACTOR * width;
  }

  /**
   * Estimates how often `hash` was added since the counters were last halved (never an underestimate
   * of that, saturating at 15).
   *
   * @param hash A 32-bit hash of the key.
   * @returns The estimate, 0 to 15.
   */
  frequency(hash: number): number {
    let min = MAX_COUNT;
    for (let row = 0; row < ROWS; row++) {
      const index = Math.imul(hash, ROW_SEEDS[row]) >>> this.#shift;
      const word = this.#table[(row << this.#rowBits) + (index >>> 3)];
      const count = (word >>> ((index & 7) << 2)) & 0xf;
      if (count < min) min = count;
    }
    return min;
  }

  /**
   * Counts one occurrence of `hash`, halving every counter once `sampleSize` additions have been made.
   *
   * @param hash A 32-bit hash of the key.
   */
  increment(hash: number): void {
    const table = this.#table;
    let added = false;
    for (let row = 0; row < ROWS; row++) {
      const index = Math.imul(hash, ROW_SEEDS[row]) >>> this.#shift;
      const at = (row << this.#rowBits) + (index >>> 3);
      const shift = (index & 7) << 2;
      if (((table[at] >>> shift) & 0xf) !== MAX_COUNT) {
        table[at] += 1 << shift;
        added = true;
      }
    }
    // Saturated keys do not count, so a few very hot keys cannot force halvings on their own.
    if (added && ++this.#additions >= this.sampleSize) this.halve();
  }

  /** Halves every counter (rounding down), as happens on its own every `sampleSize` additions. */
  halve(): void {
    const table = this.#table;
    for (let i = 0; i < table.length; i++) table[i] = (table[i] >>> 1) & 0x77777777;
    this.#additions >>>= 1;
  }
}
