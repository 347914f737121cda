/**
 * A count-min sketch of 4-bit counters that estimates how often each key was seen recently, in about
 * two bytes per cached entry. Every `sampleSize` additions it halves all counters, so the estimates
 * follow what is popular now rather than what was popular once.
 * @module
 */

/** Rows of counters; a key's estimate is its smallest counter across them. */
const ROWS = 4;
/**
 * 32-bit words per block: one 64-byte cache line. All of a key's counters lie in one block, four words
 * per row, so counting a use costs one cache miss rather than one per row.
 */
const BLOCK_WORDS = 16;
/** The largest value a 4-bit counter holds. */
const MAX_COUNT = 15;
/**
 * Additions between halvings, per entry of capacity: ten, as in TinyLFU's published design. A key must
 * then keep being used across about ten turnovers of the cache to stay popular, while one seen a few
 * times long ago fades; and a counter of 4 bits (at most 15) is just enough to tell apart how often keys
 * were seen in ten of them.
 */
const SAMPLE_FACTOR = 10;

/**
 * Approximate access counts of 32-bit key hashes, saturating at 15. Counters are packed eight to a
 * `Uint32Array` word, so halving is one shift and mask per word. The hash picks a block, and a second
 * mix of it picks one counter per row inside that block.
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
  /** Right shift that turns a scattered 32-bit hash into a block number. */
  readonly #shift: number;
  #additions = 0;

  /**
   * Makes a sketch with zeroed counters sized for about `capacity` distinct hot keys.
   *
   * @param capacity Expected number of cached entries. Each row has one counter per entry, rounded up to
   *   a power of two (at least 64, so a row fills a block), and the counters halve after 10x `capacity`
   *   additions.
   */
  constructor(capacity: number) {
    // Counters per row: one per expected entry, so four rows make two bytes per entry.
    let width = 64;
    while (width < capacity && width < 1 << 28) width *= 2;
    const blocks = (width * ROWS) / 8 / BLOCK_WORDS;
    this.#shift = 32 - Math.log2(blocks);
    this.#table = new Uint32Array(blocks * BLOCK_WORDS);
    this.sampleSize = Math.max(1, Math.round(SAMPLE_FACTOR * Math.min(capacity, width)));
  }

  /**
   * Estimates how often `hash` was added since the counters were last halved (never an underestimate
   * of that, saturating at 15).
   *
   * @param hash A 32-bit hash of the key.
   * @returns The estimate, 0 to 15.
   */
  frequency(hash: number): number {
    const table = this.#table;
    const base = this.#block(hash);
    const spread = mix(hash);
    let min = MAX_COUNT;
    for (let row = 0; row < ROWS; row++) {
      const bits = spread >>> (row << 3);
      const count = (table[base + (row << 2) + (bits & 3)] >>> (bits & 0x1c)) & 0xf;
      if (count < min) min = count;
    }
    return min;
  }

  /**
   * Counts one occurrence of `hash`, as TinyLFU does on every request: adds 1 to each of its counters
   * below 15, and when that raised at least one, counts it toward the next halving (a key whose counters
   * are all saturated cannot hurry the aging of everyone else).
   *
   * @param hash A 32-bit hash of the key.
   * @returns Whether a counter was raised.
   */
  increment(hash: number): boolean {
    const raised = this.add(hash, 1);
    if (raised && ++this.#additions >= this.sampleSize) this.halve();
    return raised;
  }

  /**
   * Adds `count` to each of `hash`'s counters, saturating at 15; does not count toward halving, for a
   * caller that counts additions itself and halves with {@linkcode halve}.
   *
   * @param hash A 32-bit hash of the key.
   * @param count How many occurrences to add.
   * @returns Whether a counter was raised.
   */
  add(hash: number, count: number): boolean {
    const table = this.#table;
    const base = this.#block(hash);
    const spread = mix(hash);
    let raised = false;
    for (let row = 0; row < ROWS; row++) {
      const bits = spread >>> (row << 3);
      const at = base + (row << 2) + (bits & 3);
      const shift = bits & 0x1c;
      const room = MAX_COUNT - ((table[at] >>> shift) & 0xf);
      if (room !== 0) {
        table[at] += (count < room ? count : room) << shift;
        raised = true;
      }
    }
    return raised;
  }

  /** Halves every counter (rounding down), as happens on its own every `sampleSize` additions. */
  halve(): void {
    const table = this.#table;
    for (let i = 0; i < table.length; i++) table[i] = (table[i] >>> 1) & 0x77777777;
    this.#additions >>>= 1;
  }

  /** The first word of the block that holds all of `hash`'s counters. */
  #block(hash: number): number {
    return (Math.imul(hash, 0x9e3779b1) >>> this.#shift) * BLOCK_WORDS;
  }
}

/** Remixes a hash so the bits choosing counters within a block are independent of those choosing it. */
function mix(hash: number): number {
  const h = Math.imul(hash ^ (hash >>> 15), 0x2c1b3c6d);
  return h ^ (h >>> 13);
}
