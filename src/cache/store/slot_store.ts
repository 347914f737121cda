/**
 * The seam between a slot cache and where its keys and values live: the cache owns slot numbers, links,
 * sizes and expiry; a store maps keys to slots and keeps each slot's key and value.
 * @module
 */

/**
 * Keys and values by slot number. A slot cache calls {@linkcode SlotStore.find} (or nothing) right before
 * {@linkcode SlotStore.cost} and {@linkcode SlotStore.insert} for the same key, so a store may keep what
 * `find` worked out about the key (its hash, its bytes) for them.
 */
export interface SlotStore<V> {
  /** Entries held. */
  readonly size: number;
  /**
   * The least any entry costs (see {@linkcode SlotStore.cost}), so a cache can tell how many slots its
   * byte bound allows and reserve them once; 0 when an entry may cost nothing.
   */
  readonly leastCost: number;
  /**
   * Bytes the store holds that no entry's {@linkcode SlotStore.cost} counts (freed records it has not
   * reclaimed yet, say); the cache counts them against its byte bound too. 0 for a store that holds none.
   */
  readonly garbageBytes: number;
  /**
   * Frees some of {@linkcode SlotStore.garbageBytes} when that is worth its cost, so the cache evicts
   * only when it is not.
   *
   * @returns Whether any was freed.
   */
  reclaim(): boolean;
  /** The slot holding `key`, or 0 when there is none. */
  find(key: string): number;
  /**
   * What storing `value` under `key` costs against the cache's byte bound: a store that keeps bytes
   * counts everything an entry takes, not only the key and value.
   */
  cost(key: string, value: V, expiresAt: number): number;
  /**
   * What the entry in `slot` costs, as {@linkcode SlotStore.cost} counted it when the entry was stored or
   * last replaced; the cache subtracts it when the entry leaves.
   */
  costOf(slot: number): number;
  /** Stores a new entry in the free `slot`. `expiresAt` is the cache's expiry for it. */
  insert(slot: number, key: string, value: V, expiresAt: number): void;
  /** Replaces the value of the entry in `slot`, whose key stays. */
  replace(slot: number, value: V, expiresAt: number): void;
  /** Forgets the entry in `slot`, which becomes free. */
  remove(slot: number): void;
  /** The key of the entry in `slot`. */
  key(slot: number): string;
  /** The value in `slot`, as a hit returns it; valid while the entry stays unchanged. */
  value(slot: number, expiresAt: number): V;
  /** The value in `slot`, in a form that outlives the entry (for eviction callbacks). */
  take(slot: number, expiresAt: number): V;
  /** Makes room for slots below `slots`, keeping what the slots below the old count hold. */
  resize(slots: number): void;
  /** Forgets every entry and starts again with room for `slots` slots. */
  clear(slots: number): void;
}
