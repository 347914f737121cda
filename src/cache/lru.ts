/**
 * Least-recently-used eviction: a hit moves the entry to the front, and the cache gives up the entry
 * untouched the longest. The storage, expiry and byte accounting are shared with the other policies.
 * @module
 */
import type { Cache, CacheOptions } from "./policy.ts";
import { SlotCache } from "./_slot_cache.ts";
/**
 * The slot list's layout (see `_slot_list.ts`), declared here rather than imported: V8 reads an imported
 * binding through its module cell at every use, which on the hit path cost LRU about a tenth of its speed.
 */
const NEXT = 0;
const PREV = 1;
/** Words per slot: the two links (see `_slot_list.ts`). */
const WORDS = 2;

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
  /**
   * Makes an empty cache.
   *
   * @param options Bounds, sizing, eviction callback and clock; see {@linkcode CacheOptions}.
   * @throws {RangeError} When `maxBytes` is not positive or `maxEntries` is not a positive integer.
   */
  constructor(options: CacheOptions<V>) {
    super(options);
  }

  /** Moves `slot` to the front; written out rather than as unlink + link to keep the hit path short. */
  protected touch(slot: number): void {
    const links = this.links;
    const words = WORDS;
    const newest = links[NEXT];
    if (newest === slot) return;
    const at = slot * words;
    const before = links[at + PREV];
    const after = links[at + NEXT];
    links[before * words + NEXT] = after;
    links[after * words + PREV] = before;
    links[at + NEXT] = newest;
    links[at + PREV] = 0;
    links[newest * words + PREV] = slot;
    links[NEXT] = slot;
  }

  /** The oldest entry, at the back of the list. */
  protected victim(): number {
    return this.links[PREV];
  }
}
