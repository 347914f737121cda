/**
 * SIEVE eviction (Zhang et al., NSDI 2024): entries queue in insertion order, a hit only sets a visited
 * bit, and a hand sweeping from old to new gives up the first unvisited entry, clearing bits as it
 * passes. Hits never reorder anything, and a one-off scan cannot flush entries that are being reused,
 * which LRU lets happen.
 * @module
 */
import type { Cache } from "./policy.ts";
import { SlotCache } from "./_slot_cache.ts";

/**
 * A byte-bounded (and optionally entry-bounded) SIEVE cache with per-entry absolute expiry, with the
 * same semantics as {@linkcode LruCache} apart from which entry it evicts.
 *
 * @example
 * ```ts
 * import { SieveCache } from "./sieve.ts";
 * const cache = new SieveCache<string>({ maxBytes: 6, sizeOf: (v) => v.length });
 * cache.set("a", "1"); // 2 bytes: key and value
 * cache.set("b", "2");
 * cache.set("c", "3");
 * cache.get("a"); // "1": "a" is visited, so the hand passes over it
 * cache.set("d", "4"); // evicts "b", the oldest unvisited entry
 * cache.get("b"); // undefined
 * ```
 */
export class SieveCache<V> extends SlotCache<V> implements Cache<V> {
  #visited = new Uint8Array(this.slots);
  /** The slot the hand examines next; 0 means start again from the oldest entry. */
  #hand = 0;
  /** The entry a `set` is overwriting, which must not be given up to make room for its own growth. */
  #pinned = 0;

  /**
   * Stores `value` under `key`, evicting unvisited entries (never `key` itself) to stay within bounds.
   *
   * @param key The key.
   * @param value The value; its size is what the store counts for it.
   * @param expiresAt Absolute expiry in epoch milliseconds, 0 (the default) for never.
   */
  override set(key: string, value: V, expiresAt = 0): void {
    this.#pinned = 0;
    super.set(key, value, expiresAt);
  }

  /** Marks `slot` visited; its position in the queue does not change. */
  protected touch(slot: number): void {
    this.#visited[slot] = 1;
    this.#pinned = slot;
  }

  /** Walks the hand from old toward new, clearing visited bits, to the first unvisited entry. */
  protected victim(): number {
    const visited = this.#visited;
    let slot = this.#hand === 0 ? this.prevOf(0) : this.#hand;
    // An overwrite that grows its entry passes over that entry however often the hand comes round.
    while (visited[slot] === 1 || slot === this.#pinned) {
      visited[slot] = 0;
      slot = this.prevOf(slot);
      if (slot === 0) slot = this.prevOf(0);
    }
    // unlink() moves the hand on to the next newer entry when this one is removed.
    this.#hand = slot;
    return slot;
  }

  /** Links `slot` in unvisited, whatever the slot's previous occupant left behind. */
  protected override link(slot: number): void {
    this.#visited[slot] = 0;
    super.link(slot);
  }

  /** Unlinks `slot`, first moving the hand off it so the hand never rests on a removed entry. */
  protected override unlink(slot: number): void {
    if (this.#hand === slot) this.#hand = this.prevOf(slot);
    super.unlink(slot);
  }

  protected override resized(slots: number, cleared: boolean): void {
    const visited = new Uint8Array(slots);
    if (cleared) this.#hand = 0;
    else visited.set(this.#visited);
    this.#visited = visited;
  }
}
