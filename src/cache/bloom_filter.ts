/**
 * A Bloom filter of strings: "certainly absent" or "maybe present" in a fixed bit array, about 9.6 bits
 * per key at a 1% false-positive rate, whatever the keys' length.
 * @module
 */
import { murmur3 } from "./_hash.ts";

/**
 * A fixed-size Bloom filter. A key that was added is always reported as maybe present (no false
 * negatives); a key never added is reported present with about the rate it was sized for.
 *
 * @example
 * ```ts
 * import { BloomFilter } from "./bloom_filter.ts";
 *
 * const filter = BloomFilter.forKeys(1000, 0.01);
 * filter.add("CNF-001");
 * filter.mightContain("CNF-001"); // true
 * filter.mightContain("CNF-999"); // false, except for about 1 key in 100
 * ```
 */
export class BloomFilter {
  readonly #bits: Uint32Array;
  readonly #mask: number;
  readonly #hashes: number;
  #added = 0;

  /**
   * @param bits Size of the bit array; rounded up to a power of two, at least 64.
   * @param hashes Bits set per key, 1 to 16.
   */
  constructor(bits: number, hashes: number) {
    if (!Number.isSafeInteger(bits) || bits < 1) {
      throw new RangeError(`bits must be a positive integer, got ${bits}`);
    }
    if (!Number.isInteger(hashes) || hashes < 1 || hashes > 16) {
      throw new RangeError(`hashes must be an integer from 1 to 16, got ${hashes}`);
    }
    const size = Math.max(64, 2 ** Math.ceil(Math.log2(bits)));
    if (size > 2 ** 32) throw new RangeError(`bits must be at most 2^32, got ${bits}`);
    this.#bits = new Uint32Array(size / 32);
    this.#mask = size - 1;
    this.#hashes = hashes;
  }

  /**
   * A filter sized for `keys` keys at false-positive rate `rate`: m = -n ln p / (ln 2)^2 bits and
   * k = (m / n) ln 2 hashes, the optimum for a Bloom filter.
   *
   * @param keys Expected keys; the rate holds up to this many (it grows beyond).
   * @param rate Wanted false-positive rate, above 0 and below 1.
   * @returns An empty filter.
   */
  static forKeys(keys: number, rate: number): BloomFilter {
    if (!(rate > 0 && rate < 1)) throw new RangeError(`rate must be above 0 and below 1, got ${rate}`);
    const n = Math.max(1, Math.ceil(keys));
    const bits = Math.ceil(-n * Math.log(rate) / (Math.LN2 * Math.LN2));
    const hashes = Math.min(16, Math.max(1, Math.round((bits / n) * Math.LN2)));
    return new BloomFilter(bits, hashes);
  }

  /** Adds a key. */
  add(key: string): void {
    const h1 = murmur3(key, 0x9747b28c);
    const h2 = murmur3(key, 0x5bd1e995) | 1;
    for (let i = 0; i < this.#hashes; i++) {
      const bit = (h1 + Math.imul(i, h2)) & this.#mask;
      this.#bits[bit >>> 5] |= 1 << (bit & 31);
    }
    this.#added++;
  }

  /** False when the key was certainly never added; true when it may have been. */
  mightContain(key: string): boolean {
    // Double hashing (Kirsch and Mitzenmacher): k probes from two hashes lose nothing measurable.
    const h1 = murmur3(key, 0x9747b28c);
    const h2 = murmur3(key, 0x5bd1e995) | 1;
    for (let i = 0; i < this.#hashes; i++) {
      const bit = (h1 + Math.imul(i, h2)) & this.#mask;
      if ((this.#bits[bit >>> 5] & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }

  /** Memory held by the bit array, in bytes. */
  get byteLength(): number {
    return this.#bits.byteLength;
  }

  /** Calls to {@linkcode add}, repeats included. */
  get added(): number {
    return this.#added;
  }
}
