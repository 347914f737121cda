/**
 * A count-min sketch of 4-bit counters that estimates how often each key was seen recently, in about
 * two bytes per cached entry. Every `sampleSize` additions it halves all counters, so the estimates
 * follow what is popular now rather than what was popular once.
 * @module
 */

/** Rows of counters; a key's estimate is its smallest counter across them. */
const ROWS = 4;
/** The narrowest row, in counters, as in the reference W-TinyLFU: two words. */
const MIN_WIDTH = 16;
/** The largest value a 4-bit counter holds. */
const MAX_COUNT = 15;
/**
 * Additions between halvings, per entry of capacity: ten, as in TinyLFU's published design. A key must
 * then keep being used across about ten turnovers of the cache to stay popular, while one seen a few
 * times long ago fades; and a counter of 4 bits (at most 15) is just enough to tell apart how often keys
 * were seen in ten of them.
 */
const SAMPLE_FACTOR = 10;
/** Added to a hash, times the row number plus one, before it is scrambled into that row's index. */
const ROW_STEP = 0x9e3779b9;

/**
 * Approximate access counts of 32-bit key hashes, saturating at 15: four rows of counters, each as wide
 * as the capacity rounded up to a power of two, and each indexed by its own scramble of the hash, so two
 * keys that share a counter in one row almost never share it in the others. (Confining a key's counters
 * to one cache line, as some sketches do to save memory traffic, makes two keys that share a line likely
 * to collide in several rows at once; on small caches that overestimates enough to admit the wrong
 * entries.) Counters are packed eight to a `Uint32Array` word, so halving is one shift and mask per word.
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
  /** Counters per row, minus one: masks a scrambled hash into a row. */
  readonly #mask: number;
  /** Words per row. */
  readonly #rowWords: number;
  #additions = 0;

  /**
   * Makes a sketch with zeroed counters sized for about `capacity` distinct hot keys.
   *
   * @param capacity Expected number of cached entries. Each row has one counter per entry, rounded up to
   *   a power of two (at least 16), and the counters halve after 10x `capacity` additions.
   */
  constructor(capacity: number) {
    let width = MIN_WIDTH;
    while (width < capacity && width < 1 << 28) width *= 2;
    this.#mask = width - 1;
    this.#rowWords = width / 8;
    this.#table = new Uint32Array(this.#rowWords * ROWS);
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
    let min = MAX_COUNT;
    for (let row = 0; row < ROWS; row++) {
      const at = this.#counter(hash, row);
      const count = (table[at >>> 3] >>> ((at & 7) << 2)) & 0xf;
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
    let raised = false;
    for (let row = 0; row < ROWS; row++) {
      const at = this.#counter(hash, row);
      const word = at >>> 3;
      const shift = (at & 7) << 2;
      const room = MAX_COUNT - ((table[word] >>> shift) & 0xf);
      if (room !== 0) {
        table[word] += (count < room ? count : room) << shift;
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

  /**
   * The table-wide number of `hash`'s counter in `row`: the hash offset by the row, scrambled with
   * MurmurHash3's finalizer (every input bit moves every output bit), masked to the row's width.
   */
  #counter(hash: number, row: number): number {
    let h = (hash + Math.imul(row + 1, ROW_STEP)) | 0;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return row * this.#rowWords * 8 + ((h ^ (h >>> 16)) & this.#mask);
  }
}
