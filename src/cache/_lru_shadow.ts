/**
 * A keys-only LRU over a hash-sampled subset of a cache's keys, holding as many of them as the cache
 * does, so a policy can tell, at a small fraction of the cost, how plain LRU would have done on the same
 * requests.
 * @module
 */

/** Slots allocated at first; the arrays double when full. */
const INITIAL_SLOTS = 16;

/**
 * An LRU of key hashes, whose capacity the caller gives on each access so it can follow a cache whose
 * entry count changes. The recency order is a doubly linked list in typed arrays (slot 0 its sentinel)
 * and a `Map` finds a hash's slot, so a hit is one lookup and a few array writes; re-inserting into the
 * `Map` on every hit, as an insertion-ordered `Map` would need, leaves a deleted entry behind each time
 * and makes the `Map` rebuild itself every so often, which a hot key's hits pay for.
 *
 * @example
 * ```ts
 * import { LruShadow } from "./_lru_shadow.ts";
 * const shadow = new LruShadow();
 * shadow.access(1, 2); // false: a miss
 * shadow.access(2, 2);
 * shadow.access(1, 2); // true
 * shadow.access(3, 2); // false, and 2, the least recent, leaves
 * shadow.access(2, 2); // false
 * ```
 */
export class LruShadow {
  readonly #slots = new Map<number, number>();
  /** Per slot: its hash, and its links toward older and newer entries; a free slot's `next` is the next free one. */
  #hashes = new Float64Array(INITIAL_SLOTS);
  #next = new Uint32Array(INITIAL_SLOTS);
  #prev = new Uint32Array(INITIAL_SLOTS);
  /** Slots ever handed out, sentinel included, and the head of the free list (0 when empty). */
  #used = 1;
  #free = 0;

  /**
   * Records a request for `hash`.
   *
   * @param hash The key's hash.
   * @param capacity How many hashes plain LRU would hold now; the oldest beyond it leave.
   * @returns Whether LRU would have hit.
   */
  access(hash: number, capacity: number): boolean {
    let slot = this.#slots.get(hash);
    const hit = slot !== undefined;
    if (slot === undefined) {
      slot = this.#allocate();
      this.#hashes[slot] = hash;
      this.#slots.set(hash, slot);
    } else if (this.#next[0] !== slot) {
      const next = this.#next;
      const prev = this.#prev;
      next[prev[slot]] = next[slot];
      prev[next[slot]] = prev[slot];
    }
    const next = this.#next;
    const prev = this.#prev;
    const newest = next[0];
    if (newest !== slot) {
      next[slot] = newest;
      prev[slot] = 0;
      prev[newest] = slot;
      next[0] = slot;
    }
    if (this.#slots.size > capacity) this.#trim(capacity);
    return hit;
  }

  /** Forgets every hash. */
  clear(): void {
    this.#slots.clear();
    this.#next.fill(0);
    this.#prev.fill(0);
    this.#used = 1;
    this.#free = 0;
  }

  /** Gives up the oldest hashes beyond `capacity`. */
  #trim(capacity: number): void {
    const next = this.#next;
    const prev = this.#prev;
    while (this.#slots.size > capacity) {
      const oldest = prev[0];
      prev[0] = prev[oldest];
      next[prev[oldest]] = 0;
      this.#slots.delete(this.#hashes[oldest]);
      next[oldest] = this.#free;
      this.#free = oldest;
    }
  }

  /** A free slot, growing the arrays when none is left. */
  #allocate(): number {
    const free = this.#free;
    if (free !== 0) {
      this.#free = this.#next[free];
      return free;
    }
    if (this.#used === this.#next.length) {
      const size = this.#used * 2;
      const hashes = new Float64Array(size);
      hashes.set(this.#hashes);
      this.#hashes = hashes;
      const next = new Uint32Array(size);
      next.set(this.#next);
      this.#next = next;
      const prev = new Uint32Array(size);
      prev.set(this.#prev);
      this.#prev = prev;
    }
    return this.#used++;
  }
}
