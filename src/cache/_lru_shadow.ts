/**
 * A keys-only LRU over a hash-sampled subset of a cache's keys, holding as many of them as the cache
 * does, so a policy can tell, at a small fraction of the cost, how plain LRU would have done on the same
 * requests.
 * @module
 */

/**
 * An LRU of key hashes, whose capacity the caller gives on each access so it can follow a cache whose
 * entry count changes. A `Map` keeps insertion order, which is recency order when a hit re-inserts.
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
  readonly #recency = new Map<number, true>();

  /**
   * Records a request for `hash`.
   *
   * @param hash The key's hash.
   * @param capacity How many hashes plain LRU would hold now; the oldest beyond it leave.
   * @returns Whether LRU would have hit.
   */
  access(hash: number, capacity: number): boolean {
    const recency = this.#recency;
    const hit = recency.delete(hash);
    recency.set(hash, true);
    if (recency.size > capacity) {
      const keys = recency.keys();
      while (recency.size > capacity) recency.delete(keys.next().value!);
    }
    return hit;
  }

  /** Forgets every hash. */
  clear(): void {
    this.#recency.clear();
  }
}
