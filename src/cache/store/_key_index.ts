/**
 * An open-addressing hash index from key hashes to slot numbers: one `Uint32Array`, linear probing,
 * deletion by shifting back (no tombstones), so the index holds no object per entry.
 * @module
 */

const MIN_CAPACITY = 64;
/** Bits a place keeps for its slot number at first; more as the slots outgrow them. */
const MIN_SLOT_BITS = 6;

/**
 * Slots by hash. Each place holds a slot number in its low `slotBits` bits and, above them, the same
 * bits of that slot's hash: a lookup passes over places whose hash bits differ without reading the
 * caller's per-slot hashes, a cache miss each once the cache outgrows the CPU's caches. The caller keeps
 * each slot's full hash (in `hashes`, for moving places) and decides which of the slots whose bits
 * match holds its key. At most three quarters full: a hit probes about 2.5 places on average, and the
 * table costs 5.3 to 10.7 bytes per entry (a half-full table took 8 to 16, a sixth of a 100-byte
 * entry's memory).
 *
 * @example
 * ```ts
 * import { KeyIndex } from "./_key_index.ts";
 * const hashes = new Uint32Array([0, 7, 7]);
 * const index = new KeyIndex();
 * index.insert(1, hashes);
 * index.insert(2, hashes);
 * index.table[7 & index.mask] & index.slotMask; // 1, with 2 just after it
 * ```
 */
export class KeyIndex {
  /** Places, 0 for empty; a key with hash h is at h & mask or after it. */
  table: Uint32Array = new Uint32Array(MIN_CAPACITY);
  mask: number = MIN_CAPACITY - 1;
  /** The bits of a place that hold its slot number; the others hold those bits of the slot's hash. */
  slotMask: number = (1 << MIN_SLOT_BITS) - 1;
  #count = 0;

  /** Slots indexed. */
  get count(): number {
    return this.#count;
  }

  /** Bytes of the table. */
  get bytes(): number {
    return this.table.byteLength;
  }

  /** Indexes `slot` under `hashes[slot]`, doubling the table when it would be over three quarters full. */
  insert(slot: number, hashes: Uint32Array): void {
    if (slot > this.slotMask) this.#widen(slot, hashes);
    if ((this.#count + 1) * 4 > this.table.length * 3) this.#rehash(this.table.length * 2, hashes);
    this.#place(slot, hashes[slot]);
    this.#count++;
  }

  /** Takes `slot` out, shifting later entries of its probe run back so lookups need no tombstones. */
  remove(slot: number, hashes: Uint32Array): void {
    const table = this.table;
    const mask = this.mask;
    const slotMask = this.slotMask;
    let i = hashes[slot] & mask;
    while ((table[i] & slotMask) !== slot) i = (i + 1) & mask;
    for (let j = (i + 1) & mask; table[j] !== 0; j = (j + 1) & mask) {
      const home = hashes[table[j] & slotMask] & mask;
      // The entry at j may fill the hole at i when i lies on its probe path, from home to j.
      if (((j - home) & mask) >= ((j - i) & mask)) {
        table[i] = table[j];
        i = j;
      }
    }
    table[i] = 0;
    this.#count--;
  }

  /** Forgets every slot. */
  clear(): void {
    this.table = new Uint32Array(MIN_CAPACITY);
    this.mask = MIN_CAPACITY - 1;
    this.#count = 0;
  }

  /**
   * Makes room in each place for slot numbers up to `slot`, rewriting every place: slot numbers are
   * handed out one above another, so this happens as often as their count doubles past the bits.
   */
  #widen(slot: number, hashes: Uint32Array): void {
    let bits = MIN_SLOT_BITS;
    // Up to 30 bits, so that a place's slot bits read as a positive 32-bit integer.
    while ((1 << bits) - 1 < slot && bits < 30) bits++;
    const slotMask = (1 << bits) - 1;
    const table = this.table;
    const old = this.slotMask;
    for (let i = 0; i < table.length; i++) {
      const held = table[i] & old;
      if (held !== 0) table[i] = ((hashes[held] & ~slotMask) | held) >>> 0;
    }
    this.slotMask = slotMask;
  }

  #place(slot: number, hash: number): void {
    const table = this.table;
    const mask = this.mask;
    let i = hash & mask;
    while (table[i] !== 0) i = (i + 1) & mask;
    table[i] = ((hash & ~this.slotMask) | slot) >>> 0;
  }

  #rehash(capacity: number, hashes: Uint32Array): void {
    const old = this.table;
    const slotMask = this.slotMask;
    this.table = new Uint32Array(capacity);
    this.mask = capacity - 1;
    for (let i = 0; i < old.length; i++) {
      const slot = old[i] & slotMask;
      if (slot !== 0) this.#place(slot, hashes[slot]);
    }
  }
}
