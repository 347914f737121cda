/**
 * Per-slot arrays reserved once for the most slots a cache can use, and grown by taking longer views of
 * the same memory instead of copying into new arrays. Untouched pages of a large reservation take no
 * memory, so a cache pays for the slots it has used; growing then costs no copy, no second set of arrays
 * while the old ones wait for the garbage collector, and no collection to free them.
 * @module
 */

/** Slots beyond which nothing is reserved and arrays grow by copying, as a bound on address space taken. */
const MAX_RESERVED_SLOTS = 1 << 25;

/**
 * Slots to reserve for a cache whose entries cost at least `leastCost` against `maxBytes`, with the
 * sentinel slot 0; 0 when that is unbounded (`leastCost` 0) or above the most reserved.
 *
 * @param maxBytes The cache's byte bound.
 * @param leastCost The least an entry costs.
 * @param maxEntries The cache's entry bound, if any.
 * @returns Slots to reserve, or 0 for none.
 * @example
 * ```ts
 * import { reservedSlots } from "./_reserve.ts";
 * reservedSlots(1000, 100); // 11
 * reservedSlots(1000, 0); // 0
 * ```
 */
export function reservedSlots(maxBytes: number, leastCost: number, maxEntries = Infinity): number {
  if (!(leastCost > 0)) return maxEntries < MAX_RESERVED_SLOTS ? maxEntries + 1 : 0;
  const slots = Math.min(maxEntries, Math.floor(maxBytes / leastCost)) + 1;
  return slots <= MAX_RESERVED_SLOTS ? slots : 0;
}

/**
 * Arrays of a fixed number of bytes per slot laid end to end in one buffer of `slots` slots. One large
 * buffer, rather than one per array, is mapped from the system page by page as it is touched.
 *
 * @example
 * ```ts
 * import { SlotReserve } from "./_reserve.ts";
 * const reserve = new SlotReserve(100, [4, 8]);
 * const counts = reserve.uint32(0, 10); // 10 slots of the first array
 * counts[9] = 7;
 * reserve.uint32(0, 20)[9]; // 7: the same memory, longer
 * ```
 */
export class SlotReserve {
  /** Slots reserved. */
  readonly slots: number;
  readonly #buffer: ArrayBuffer;
  readonly #offsets: number[] = [];

  /**
   * Reserves the arrays.
   *
   * @param slots Slots of each array.
   * @param elementBytes Bytes per slot of each array, in order: 4 or 8.
   */
  constructor(slots: number, elementBytes: number[]) {
    this.slots = slots;
    // Eight-byte arrays first, so every array starts aligned to its element size.
    const order = elementBytes.map((bytes, i) => ({ bytes, i })).sort((a, b) => b.bytes - a.bytes);
    let at = 0;
    for (const { bytes, i } of order) {
      this.#offsets[i] = at;
      at += slots * bytes;
    }
    this.#buffer = new ArrayBuffer(at);
  }

  /** The first `slots` slots of array `i` (of 4 bytes per slot), as a `Uint32Array`. */
  uint32(i: number, slots: number): Uint32Array {
    return new Uint32Array(this.#buffer, this.#offsets[i], slots);
  }

  /** The first `slots` slots of array `i` (of 8 bytes per slot), as a `Float64Array`. */
  float64(i: number, slots: number): Float64Array {
    return new Float64Array(this.#buffer, this.#offsets[i], slots);
  }
}
