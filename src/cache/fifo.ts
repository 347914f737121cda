/**
 * First-in, first-out eviction: a hit changes nothing, and the cache gives up the entry inserted
 * longest ago. The cheapest policy, and the baseline the others must beat.
 * @module
 */
import type { Cache } from "./policy.ts";
import { SlotCache } from "./_slot_cache.ts";

/**
 * A byte-bounded (and optionally entry-bounded) FIFO cache with per-entry absolute expiry, with the same
 * semantics as {@linkcode LruCache} apart from which entry it evicts. Overwriting a key keeps its place.
 *
 * @example
 * ```ts
 * import { FifoCache } from "./fifo.ts";
 * const cache = new FifoCache<string>({ maxBytes: 4, sizeOf: (v) => v.length });
 * cache.set("a", "1"); // 2 bytes: key and value
 * cache.set("b", "2");
 * cache.get("a"); // "1", which does not save "a"
 * cache.set("c", "3"); // evicts "a", the first in
 * cache.get("a"); // undefined
 * ```
 */
export class FifoCache<V> extends SlotCache<V> implements Cache<V> {
  /** The entry a `set` is overwriting, which must not be given up to make room for its own growth. */
  #pinned = 0;

  /**
   * Stores `value` under `key`, evicting the oldest entries (never `key` itself) to stay within bounds.
   *
   * @param key The key.
   * @param value The value; its size is `sizeOf(value)` plus the key's UTF-8 length.
   * @param expiresAt Absolute expiry in epoch milliseconds, 0 (the default) for never.
   */
  override set(key: string, value: V, expiresAt = 0): void {
    this.#pinned = 0;
    super.set(key, value, expiresAt);
  }

  /** Nothing moves: insertion order alone decides. Remembers the slot in case a `set` is growing it. */
  protected touch(slot: number): void {
    this.#pinned = slot;
  }

  /** The entry inserted first, at the back of the list, or the one after it if that is being overwritten. */
  protected victim(): number {
    const oldest = this.prevOf(0);
    return oldest === this.#pinned ? this.prevOf(oldest) : oldest;
  }
}
