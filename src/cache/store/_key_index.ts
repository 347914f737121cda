/**
 * An open-addressing hash index from key hashes to slot numbers: one `Uint32Array`, linear probing,
 * deletion by shifting back (no tombstones), so the index holds no object per entry.
 * @module
 */

const MIN_CAPACITY = 64;

/**
 * Slots by hash. The caller keeps each slot's hash (in `hashes`) and decides which of the slots with a
 * matching hash holds its key; the index only keeps them findable. At most three quarters full: a hit
 * probes about 2.5 places on average, and the table costs 5.3 to 10.7 bytes per entry (a half-full table
 * took 8 to 16, a sixth of a 100-byte entry's memory).
 *
 * @example
 * ```ts
 * import { KeyIndex } from "./_key_index.ts";
 * const hashes = new Uint32Array([0, 7, 7]);
 * const index = new KeyIndex();
 * index.insert(1, hashes);
 * index.insert(2, hashes);
 * index.table[7 & index.mask]; // 1, with 2 just after it
 * ```
 */
export class KeyIndex {
  /** Places of slot numbers, 0 for empty; a key with hash h is at h & mask or after it. */
  table: Uint32Array = new Uint32Array(MIN_CAPACITY);
  mask: number = MIN_CAPACITY - 1;
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
    if ((this.#count + 1) * 4 > this.table.length * 3) this.#rehash(this.table.length * 2, hashes);
    this.#place(slot, hashes[slot]);
    this.#count++;
  }

  /** Takes `slot` out, shifting later entries of its probe run back so lookups need no tombstones. */
  remove(slot: number, hashes: Uint32Array): void {
    const table = this.table;
    const mask = this.mask;
    let i = hashes[slot] & mask;
    while (table[i] !== slot) i = (i + 1) & mask;
    for (let j = (i + 1) & mask; table[j] !== 0; j = (j + 1) & mask) {
      const home = hashes[table[j]] & mask;
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

  #place(slot: number, hash: number): void {
    const table = this.table;
    const mask = this.mask;
    let i = hash & mask;
    while (table[i] !== 0) i = (i + 1) & mask;
    table[i] = slot;
  }

  #rehash(capacity: number, hashes: Uint32Array): void {
    const old = this.table;
    this.table = new Uint32Array(capacity);
    this.mask = capacity - 1;
    for (let i = 0; i < old.length; i++) if (old[i] !== 0) this.#place(old[i], hashes[old[i]]);
  }
}
