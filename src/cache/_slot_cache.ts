/**
 * The storage every eviction policy here shares. Entries live in parallel arrays indexed by a slot
 * number (one `Map` from key to slot, typed arrays for links and expiry), so a cache of a million
 * entries holds no object per entry and gives the garbage collector little to trace. A policy supplies
 * only what it does on a hit and which entry it gives up.
 * @module
 */
import type { Cache, CacheOptions, CacheStats, EvictionReason } from "./policy.ts";
import type { SlotStore } from "./store/slot_store.ts";
import { ObjectStore } from "./store/object_store.ts";
import { reservedSlots, SlotReserve } from "./store/_reserve.ts";

/**
 * The slot list's layout (see `_slot_list.ts`), declared here rather than imported: V8 reads an imported
 * binding through its module cell at every use, which on the hit path cost LRU about a tenth of its speed.
 */
const NEXT = 0;
const PREV = 1;
/** Words per slot in the links array: its two links (a constant, so no access reads it from the cache). */
const WORDS = 2;

/** Slots allocated before the first growth; byte-bounded caches cannot know their entry count ahead. */
const INITIAL_SLOTS = 64;
/** Slots the incremental expiry sweep inspects per insert: enough to keep up, too few to notice. */
const SWEEP_STEP = 2;

/**
 * A bounded cache over slot arrays, with expiry, byte accounting and counters; subclasses choose the
 * eviction order, and a {@linkcode SlotStore} keeps the keys and values (JavaScript values by default,
 * or bytes in slabs). Slot 0 is the sentinel of a circular doubly linked list: its `NEXT` link is the
 * newest entry and its `PREV` link the oldest, so linking and unlinking need no branches.
 *
 * A slot's two links lie side by side in one array ({@linkcode SlotCache.links}), so a move touches one
 * cache line per slot; a policy keeps any state of its own per slot in arrays it sizes in
 * {@linkcode SlotCache.resized}.
 *
 * `onEvict` runs synchronously, after the entry has left, in the middle of `get`, `set` or `delete`: it
 * may read this cache but must not write to it, since a `set` may still be placing its entry.
 *
 * @example
 * ```ts
 * import { SlotCache } from "./_slot_cache.ts";
 * class FifoCache<V> extends SlotCache<V> {
 *   protected touch(_slot: number): void {}
 *   protected victim(): number {
 *     return this.prevOf(0);
 *   }
 * }
 * const cache = new FifoCache<string>({ maxBytes: 100, sizeOf: (v) => v.length });
 * cache.set("a", "x");
 * cache.get("a"); // "x"
 * ```
 */
export abstract class SlotCache<V> implements Cache<V> {
  /**
   * Per slot, two words from `slot * 2`: at {@linkcode NEXT} the link toward older entries (for a free
   * slot, the next free slot instead), at {@linkcode PREV} the link toward newer ones.
   */
  protected links: Uint32Array;

  readonly #store: SlotStore<V>;
  #expires: Float64Array;
  /** The arrays' memory for every slot the bounds allow, when they bound it; else they grow by copying. */
  readonly #reserve: SlotReserve | undefined;
  /** Head of the free-slot stack threaded through the `NEXT` links; 0 when empty. */
  #free = 0;
  /** Slots ever handed out, sentinel included; slots at and above it are fresh. */
  #used = 1;
  /** Live entries with an expiry, so caches that never expire anything skip the clock. */
  #expiring = 0;
  #cursor = 0;

  readonly #maxBytes: number;
  readonly #maxEntries: number;
  readonly #onEvict: ((key: string, value: V, reason: EvictionReason) => void) | undefined;
  readonly #now: () => number;

  #bytes = 0;
  #gets = 0;
  #hits = 0;
  #evictions = 0;
  #expirations = 0;

  /**
   * Makes an empty cache.
   *
   * @param options Bounds, sizing, eviction callback and clock; see {@linkcode CacheOptions}.
   * @throws {RangeError} When `maxBytes` is not positive or `maxEntries` is not a positive integer.
   */
  constructor(options: CacheOptions<V>) {
    const { maxBytes, maxEntries = Infinity, sizeOf, onEvict, now = Date.now, store } = options;
    if (typeof maxBytes !== "number" || !(maxBytes > 0)) {
      throw new RangeError(`maxBytes must be a positive number, got ${String(maxBytes)}`);
    }
    if (maxEntries !== Infinity && !(Number.isInteger(maxEntries) && maxEntries > 0)) {
      throw new RangeError(`maxEntries must be a positive integer, got ${String(maxEntries)}`);
    }
    if (store === undefined && typeof sizeOf !== "function") {
      throw new TypeError(`sizeOf must be a function returning a value's byte size, got ${typeof sizeOf}`);
    }
    this.#maxBytes = maxBytes;
    this.#maxEntries = maxEntries;
    this.#store = store ?? new ObjectStore<V>(sizeOf!);
    this.#onEvict = onEvict;
    this.#now = now;
    const reserved = reservedSlots(maxBytes, this.#store.leastCost, maxEntries);
    this.#reserve = reserved > INITIAL_SLOTS ? new SlotReserve(reserved, [4 * WORDS, 8]) : undefined;
    const slots = Math.min(INITIAL_SLOTS, maxEntries + 1, reserved || Infinity);
    this.links = new Uint32Array(0);
    this.#expires = new Float64Array(0);
    this.#arrays(slots, false);
    this.#store.resize(slots);
  }

  /** Marks the entry in `slot` as just used. */
  protected abstract touch(slot: number): void;

  /** Chooses the slot to give up when the cache is full; called only when the cache is not empty. */
  protected abstract victim(): number;

  /** Entries held (some may have expired and not yet been reclaimed). */
  get size(): number {
    return this.#store.size;
  }

  /**
   * Bytes held: keys and values, and what else the store counts per entry. The byte bound also counts the
   * store's garbage ({@linkcode SlotStore.garbageBytes}), which this leaves out.
   */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Returns the live value for `key` and marks it used, or undefined when absent or expired; an expired
   * entry is removed with reason "expired".
   *
   * @param key The key to look up.
   * @returns The value, or undefined.
   */
  get(key: string): V | undefined {
    this.#gets++;
    const slot = this.#store.find(key);
    if (slot === 0) return undefined;
    const expiresAt = this.#expires[slot];
    if (expiresAt !== 0 && expiresAt <= this.#now()) {
      this.#remove(slot, "expired");
      return undefined;
    }
    this.#hits++;
    this.touch(slot);
    return this.#store.value(slot, expiresAt);
  }

  /**
   * Stores `value` under `key`, evicting to stay within bounds. An entry whose key and value together
   * exceed `maxBytes` is not stored, and an older value under that key is removed with reason "deleted",
   * since the caller asked for it to be replaced.
   *
   * @param key The key.
   * @param value The value; its size is what the store counts for it (by default `sizeOf(value)` plus
   * the key's UTF-8 length).
   * @param expiresAt Absolute expiry in epoch milliseconds, 0 (the default) for never.
   * @throws {RangeError} When `sizeOf` returns a negative number or NaN.
   */
  set(key: string, value: V, expiresAt = 0): void {
    const store = this.#store;
    let slot = store.find(key);
    const size = store.cost(key, value, expiresAt);
    if (!(size <= this.#maxBytes && size >= 0)) {
      if (!(size >= 0)) throw new RangeError(`sizeOf must return a byte count >= 0, got ${size}`);
      if (slot !== 0) this.#remove(slot, "deleted");
      return;
    }
    if (slot !== 0) {
      this.#bytes += size - store.costOf(slot);
      store.replace(slot, value, expiresAt);
      this.#expiring += (expiresAt !== 0 ? 1 : 0) - (this.#expires[slot] !== 0 ? 1 : 0);
      this.#expires[slot] = expiresAt;
      this.touch(slot);
      // The touched entry alone fits, so the policy gives up others before it.
      while (this.#bytes + store.garbageBytes > this.#maxBytes && store.size > 1) {
        if (!store.reclaim()) this.#evictOne();
      }
      return;
    }
    // The store's garbage counts too; an eviction adds to it, so the store reclaims first when it can.
    while (store.size >= this.#maxEntries || this.#bytes + store.garbageBytes + size > this.#maxBytes) {
      if (store.size >= this.#maxEntries || !store.reclaim()) {
        // An empty cache has nothing to evict (and its store no garbage left to count).
        if (store.size === 0) break;
        this.#evictOne();
      }
    }
    slot = this.#allocate();
    store.insert(slot, key, value, expiresAt);
    this.#expires[slot] = expiresAt;
    this.#bytes += size;
    this.link(slot);
    if (expiresAt !== 0) this.#expiring++;
    if (this.#expiring !== 0) this.#sweep();
  }

  /**
   * Removes `key` with reason "deleted". An entry that has already expired counts as absent: it is
   * reclaimed with reason "expired" and the call returns false.
   *
   * @param key The key.
   * @returns Whether a live entry was removed.
   */
  delete(key: string): boolean {
    const slot = this.#store.find(key);
    if (slot === 0) return false;
    const expiresAt = this.#expires[slot];
    if (expiresAt !== 0 && expiresAt <= this.#now()) {
      this.#remove(slot, "expired");
      return false;
    }
    this.#remove(slot, "deleted");
    return true;
  }

  /** Removes every entry, calling `onEvict` with "deleted" for each after all have left. */
  clear(): void {
    const onEvict = this.#onEvict;
    const gone: [string, V][] = [];
    if (onEvict !== undefined) {
      for (let s = this.nextOf(0); s !== 0; s = this.nextOf(s)) {
        gone.push([this.#store.key(s), this.#store.take(s, this.#expires[s])]);
      }
    }
    const slots = Math.min(this.slots, INITIAL_SLOTS);
    this.#store.clear(slots);
    this.#arrays(slots, false);
    this.resized(slots, true);
    this.#free = 0;
    this.#used = 1;
    this.#expiring = 0;
    this.#cursor = 0;
    this.#bytes = 0;
    if (onEvict !== undefined) { for (const [key, value] of gone) onEvict(key, value, "deleted"); }
  }

  /**
   * Removes every expired entry now, with reason "expired". Expired entries are otherwise reclaimed
   * when read, when they reach the eviction point, or by a small sweep on each insert.
   *
   * @returns How many entries were removed.
   */
  purgeExpired(): number {
    if (this.#expiring === 0) return 0;
    const now = this.#now();
    let removed = 0;
    for (let s = 1; s < this.#used; s++) {
      const expiresAt = this.#expires[s];
      if (expiresAt !== 0 && expiresAt <= now) {
        this.#remove(s, "expired");
        removed++;
      }
    }
    return removed;
  }

  /** A snapshot of the counters. */
  stats(): CacheStats {
    return {
      bytes: this.#bytes,
      items: this.#store.size,
      gets: this.#gets,
      hits: this.#hits,
      evictions: this.#evictions,
      expirations: this.#expirations,
    };
  }

  /** Slots the arrays have room for, the sentinel included. */
  protected get slots(): number {
    return this.#expires.length;
  }

  /** The entry just older than `slot` (the newest for the sentinel), or 0 for none. */
  protected nextOf(slot: number): number {
    return this.links[slot * WORDS + NEXT];
  }

  /** The entry just newer than `slot` (the oldest for the sentinel), or 0 for none. */
  protected prevOf(slot: number): number {
    return this.links[slot * WORDS + PREV];
  }

  /** Links `slot` in as the newest entry. */
  protected link(slot: number): void {
    const links = this.links;
    const newest = links[NEXT];
    links[slot * WORDS + NEXT] = newest;
    links[slot * WORDS + PREV] = 0;
    links[newest * WORDS + PREV] = slot;
    links[NEXT] = slot;
  }

  /** Takes `slot` out of the list, leaving its own links as they were. */
  protected unlink(slot: number): void {
    const links = this.links;
    const before = links[slot * WORDS + PREV];
    const after = links[slot * WORDS + NEXT];
    links[before * WORDS + NEXT] = after;
    links[after * WORDS + PREV] = before;
  }

  /**
   * Lets a subclass resize its own per-slot arrays to `slots` entries: keeping their contents after a
   * growth, or starting afresh when `cleared`.
   */
  protected resized(_slots: number, _cleared: boolean): void {}

  #evictOne(): void {
    const slot = this.victim();
    const expiresAt = this.#expires[slot];
    this.#remove(slot, expiresAt !== 0 && expiresAt <= this.#now() ? "expired" : "evicted");
  }

  #remove(slot: number, reason: EvictionReason): void {
    const onEvict = this.#onEvict;
    const store = this.#store;
    // Read before the store forgets them, and only when someone is told.
    const key = onEvict === undefined ? "" : store.key(slot);
    const value = onEvict === undefined ? undefined : store.take(slot, this.#expires[slot]);
    this.#bytes -= store.costOf(slot);
    store.remove(slot);
    this.unlink(slot);
    if (this.#expires[slot] !== 0) {
      this.#expiring--;
      this.#expires[slot] = 0;
    }
    this.links[slot * WORDS + NEXT] = this.#free;
    this.#free = slot;
    if (reason === "evicted") this.#evictions++;
    else if (reason === "expired") this.#expirations++;
    if (onEvict !== undefined) onEvict(key, value as V, reason);
  }

  #allocate(): number {
    const free = this.#free;
    if (free !== 0) {
      this.#free = this.nextOf(free);
      return free;
    }
    if (this.#used === this.slots) {
      const most = this.#reserve === undefined ? this.#maxEntries + 1 : this.#reserve.slots;
      this.#grow(Math.min(this.#used * 2, most));
    }
    return this.#used++;
  }

  #grow(slots: number): void {
    this.#arrays(slots, true);
    this.#store.resize(slots);
    this.resized(slots, false);
  }

  /**
   * Makes the links and expiries `slots` long, keeping what they hold when `keep`, else zeroed:
   * longer views of the reserved memory, or new arrays when nothing is reserved.
   */
  #arrays(slots: number, keep: boolean): void {
    const reserve = this.#reserve;
    if (reserve !== undefined) {
      if (!keep) {
        // The memory is reused: what earlier entries left in it must not show through.
        this.links.fill(0);
        this.#expires.fill(0);
      }
      this.links = reserve.uint32(0, slots * WORDS);
      this.#expires = reserve.float64(1, slots);
      return;
    }
    const links = new Uint32Array(slots * WORDS);
    const expires = new Float64Array(slots);
    if (keep) {
      links.set(this.links);
      expires.set(this.#expires);
    }
    this.links = links;
    this.#expires = expires;
  }

  /** Inspects a few slots round-robin and reclaims any that expired, so no timer per entry is needed. */
  #sweep(): void {
    const now = this.#now();
    let s = this.#cursor;
    for (let k = 0; k < SWEEP_STEP; k++) {
      if (++s >= this.#used) s = 1;
      const expiresAt = this.#expires[s];
      if (expiresAt !== 0 && expiresAt <= now) this.#remove(s, "expired");
    }
    this.#cursor = s;
  }
}
