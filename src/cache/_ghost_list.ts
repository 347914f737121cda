/**
 * The keys (as hashes) a cache recently gave up from one of its parts, so it can tell, when one of them
 * is requested again, that a little more room in that part would have turned the miss into a hit.
 * @module
 */

/** Places the arrays start with; they double as the capacity asks. */
const MIN_PLACES = 16;

/**
 * A bounded first-in first-out set of key hashes: the newest `capacity` added, each at most once.
 *
 * Hashes are kept in two typed arrays rather than a `Map`: a ring of hashes in the order they were
 * added, and an open-addressing table of ring positions to find one. A hash taken, or added again, leaves
 * a dead place in the ring that the oldest end skips; a full ring is compacted in place. So a list of a
 * hundred thousand ghosts is two arrays of about 1 MiB that never change while it churns, where a `Map`
 * left a rehashed table of several MiB to the garbage collector every time it turned over.
 *
 * @example
 * ```ts
 * import { GhostList } from "./_ghost_list.ts";
 * const ghosts = new GhostList();
 * ghosts.add(1, 2);
 * ghosts.add(2, 2);
 * ghosts.add(3, 2); // 1, the oldest, leaves
 * ghosts.take(1); // false
 * ghosts.take(3); // true, and 3 leaves
 * ghosts.take(3); // false
 * ```
 */
export class GhostList {
  /** Hashes in the order added, from `#tail` on for `#used` places. */
  #ring = new Uint32Array(MIN_PLACES);
  /** Per ring place: 1 while its hash is held, 0 once it was taken, added again or dropped. */
  #alive = new Uint8Array(MIN_PLACES);
  /** Ring position + 1 of each held hash, 0 for an empty place; at most half full. */
  #table = new Uint32Array(MIN_PLACES * 2);
  #tail = 0;
  #used = 0;
  #live = 0;

  /** Hashes held. */
  get size(): number {
    return this.#live;
  }

  /**
   * Adds `hash` as the newest, dropping the oldest beyond `capacity`.
   *
   * @param hash A key hash, an unsigned 32-bit integer.
   * @param capacity How many the list holds now; the caller may change it as the cache changes.
   */
  add(hash: number, capacity: number): void {
    hash >>>= 0;
    this.take(hash);
    if (this.#used === this.#ring.length) {
      // Compacting frees at least half the ring when at most half of it is held; else it doubles.
      this.#rebuild(this.#live * 2 <= this.#used ? this.#used : this.#used * 2, this.#table.length);
    }
    if ((this.#live + 1) * 2 > this.#table.length) this.#rebuild(this.#ring.length, this.#table.length * 2);
    const at = (this.#tail + this.#used) & (this.#ring.length - 1);
    this.#ring[at] = hash;
    this.#alive[at] = 1;
    this.#used++;
    this.#place(hash, at + 1);
    this.#live++;
    while (this.#live > capacity) this.#dropOldest();
  }

  /**
   * Removes `hash` if present.
   *
   * @param hash A key hash.
   * @returns Whether it was in the list.
   */
  take(hash: number): boolean {
    const i = this.#find(hash >>> 0);
    if (i === -1) return false;
    this.#remove(i);
    return true;
  }

  /** Forgets every hash, keeping the arrays for the next ones. */
  clear(): void {
    this.#table.fill(0);
    this.#alive.fill(0);
    this.#tail = this.#used = this.#live = 0;
  }

  /** The table index holding `hash`, or -1. */
  #find(hash: number): number {
    const table = this.#table;
    const mask = table.length - 1;
    const ring = this.#ring;
    for (let i = home(hash, mask);; i = (i + 1) & mask) {
      const entry = table[i];
      if (entry === 0) return -1;
      if (ring[entry - 1] === hash) return i;
    }
  }

  #place(hash: number, entry: number): void {
    const table = this.#table;
    const mask = table.length - 1;
    let i = home(hash, mask);
    while (table[i] !== 0) i = (i + 1) & mask;
    table[i] = entry;
  }

  /** Empties table index `i`, shifting later entries of its probe run back, so lookups need no tombstones. */
  #remove(i: number): void {
    const table = this.#table;
    const mask = table.length - 1;
    const ring = this.#ring;
    this.#alive[table[i] - 1] = 0;
    for (let j = (i + 1) & mask; table[j] !== 0; j = (j + 1) & mask) {
      const start = home(ring[table[j] - 1], mask);
      // The entry at j may fill the hole at i when i lies on its probe path, from its home to j.
      if (((j - start) & mask) >= ((j - i) & mask)) {
        table[i] = table[j];
        i = j;
      }
    }
    table[i] = 0;
    this.#live--;
  }

  /** Drops the oldest held hash, skipping the dead places before it. */
  #dropOldest(): void {
    const mask = this.#ring.length - 1;
    for (;;) {
      const at = this.#tail;
      this.#tail = (at + 1) & mask;
      this.#used--;
      if (this.#alive[at] === 1) {
        this.#remove(this.#find(this.#ring[at]));
        return;
      }
    }
  }

  /**
   * Moves the held hashes, oldest first, together (in place, or to the start of a larger ring) and
   * indexes them again in a table of `tableSize`.
   */
  #rebuild(ringSize: number, tableSize: number): void {
    const old = this.#ring;
    const oldAlive = this.#alive;
    const oldMask = old.length - 1;
    const grown = ringSize !== old.length;
    const ring = grown ? new Uint32Array(ringSize) : old;
    const alive = grown ? new Uint8Array(ringSize) : oldAlive;
    const mask = ringSize - 1;
    const tail = grown ? 0 : this.#tail;
    let count = 0;
    // In place, the write position never passes the read position, so nothing is overwritten unread.
    for (let k = 0; k < this.#used; k++) {
      const from = (this.#tail + k) & oldMask;
      if (oldAlive[from] === 0) continue;
      oldAlive[from] = 0;
      const to = (tail + count++) & mask;
      ring[to] = old[from];
      alive[to] = 1;
    }
    this.#ring = ring;
    this.#alive = alive;
    this.#table = tableSize === this.#table.length ? this.#table.fill(0) : new Uint32Array(tableSize);
    for (let k = 0; k < count; k++) {
      const at = (tail + k) & mask;
      this.#place(ring[at], at + 1);
    }
    this.#tail = tail;
    this.#used = count;
  }
}

/** Where `hash` starts its probe: small hashes, or ones that share low bits, are scattered over the table. */
function home(hash: number, mask: number): number {
  return (Math.imul(hash, 0x9e3779b1) >>> 7) & mask;
}
