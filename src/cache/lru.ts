/**
 * Least-recently-used eviction: a hit moves the entry to the front, and the cache gives up the entry
 * untouched the longest. The storage, expiry and byte accounting are shared with the other policies.
 * @module
 */
import type { Cache } from "./policy.ts";
import { SlotCache } from "./_slot_cache.ts";

/**
 * A byte-bounded (and optionally entry-bounded) LRU cache with per-entry absolute expiry. `get`, `set`
 * and `delete` are O(1) and allocate nothing per entry beyond the key's slot in one `Map`.
 *
 * @example
 * ```ts
 * import { LruCache } from "./lru.ts";
 * const cache = new LruCache<string>({ maxBytes: 6, sizeOf: (v) => v.length });
 * cache.set("a", "1"); // 2 bytes: key and value
 * cache.set("b", "2");
 * cache.get("a"); // "1", so "b" is now the least recently used
 * cache.set("c", "3"); cache.set("d", "4"); // evicts "b"
 * cache.get("b"); // undefined
 * ```
 */
export class LruCache<V> extends SlotCache<V> implements Cache<V> {
  /** Moves `slot` to the front; written out rather than as unlink + link to keep the hit path short. */
  protected touch(slot: number): void {
    const next = this.next;
    const newest = next[0];
    if (newest === slot) return;
    const prev = this.prev;
    const before = prev[slot];
    const after = next[slot];
    next[before] = after;
    prev[after] = before;
    next[slot] = newest;
    prev[slot] = 0;
    prev[newest] = slot;
    next[0] = slot;
  }

  /** The oldest entry, at the back of the list. */
  protected victim(): number {
    return this.prev[0];
  }
}
