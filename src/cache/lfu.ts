/**
 * Least-frequently-used eviction: each entry counts its uses, and the cache gives up the entry used
 * least, the least recently used of those on a tie. Counts never age, so entries that were popular once
 * stay; {@linkcode TinyLfuCache} is the variant that forgets.
 * @module
 */
import type { Cache } from "./policy.ts";
import { SlotCache } from "./_slot_cache.ts";
import { linkBefore } from "./_slot_list.ts";

/**
 * A byte-bounded (and optionally entry-bounded) LFU cache with per-entry absolute expiry. The slot list
 * is kept sorted by use count (highest next to the sentinel's `next`, lowest at its `prev`), most recent
 * first within a count, and each count remembers where its run starts, so `get` and `set` are O(1).
 *
 * @example
 * ```ts
 * import { LfuCache } from "./lfu.ts";
 * const cache = new LfuCache<string>({ maxBytes: 4, sizeOf: (v) => v.length });
 * cache.set("a", "1"); // 2 bytes: key and value
 * cache.set("b", "2");
 * cache.get("a"); // "1": "a" has now been used twice, "b" once
 * cache.set("c", "3"); // evicts "b"
 * cache.get("b"); // undefined
 * ```
 */
export class LfuCache<V> extends SlotCache<V> implements Cache<V> {
  /** Uses of each slot's entry: its insert plus its hits. */
  #counts = new Float64Array(this.slots);
  /** The first (most recent) slot of the run of entries with each count. */
  readonly #runs = new Map<number, number>();
  /** The entry a `set` is overwriting, which must not be given up to make room for its own growth. */
  #pinned = 0;

  /**
   * Stores `value` under `key` with one more use, evicting the least used entries (never `key` itself)
   * to stay within bounds.
   *
   * @param key The key.
   * @param value The value; its size is `sizeOf(value)` plus the key's UTF-8 length.
   * @param expiresAt Absolute expiry in epoch milliseconds, 0 (the default) for never.
   */
  override set(key: string, value: V, expiresAt = 0): void {
    this.#pinned = 0;
    super.set(key, value, expiresAt);
  }

  /** Counts one more use and moves `slot` to the front of the next count's run. */
  protected touch(slot: number): void {
    const count = this.#counts[slot];
    const runs = this.#runs;
    // Where the slot goes: before the run of count + 1, or, when there is none, where its own run starts.
    const higher = runs.get(count + 1);
    const at = higher ?? runs.get(count)!;
    this.unlink(slot);
    this.#counts[slot] = count + 1;
    linkBefore(this.links, slot, at === slot ? this.nextOf(slot) : at);
    runs.set(count + 1, slot);
    this.#pinned = slot;
  }

  /** The least used entry, at the back of the list, or the next if that one is being overwritten. */
  protected victim(): number {
    const least = this.prevOf(0);
    return least === this.#pinned ? this.prevOf(least) : least;
  }

  /** Links a new entry in with one use, at the front of the run of single-use entries. */
  protected override link(slot: number): void {
    this.#counts[slot] = 1;
    linkBefore(this.links, slot, this.#runs.get(1) ?? 0);
    this.#runs.set(1, slot);
  }

  /** Unlinks `slot`, passing the start of its run on to the next entry with the same count. */
  protected override unlink(slot: number): void {
    const count = this.#counts[slot];
    if (this.#runs.get(count) === slot) {
      const after = this.nextOf(slot);
      if (after !== 0 && this.#counts[after] === count) this.#runs.set(count, after);
      else this.#runs.delete(count);
    }
    super.unlink(slot);
  }

  protected override resized(slots: number, cleared: boolean): void {
    const counts = new Float64Array(slots);
    if (cleared) this.#runs.clear();
    else counts.set(this.#counts);
    this.#counts = counts;
  }
}
