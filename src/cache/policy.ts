/**
 * The seam between a cache's callers and its eviction policy: every policy implements {@linkcode Cache},
 * so callers choose one by name and never depend on how it evicts.
 * @module
 */
import type { SlotStore } from "./store/slot_store.ts";

/** Why an entry left the cache. */
export type EvictionReason = "evicted" | "expired" | "deleted";

/** Counters a cache keeps about itself. */
export interface CacheStats {
  /** Bytes the entries cost: keys and values, plus what the store counts per entry (see `CacheOptions.store`). */
  bytes: number;
  /** Entries held. */
  items: number;
  /** Calls to `get`. */
  gets: number;
  /** Calls to `get` that found a live entry. */
  hits: number;
  /** Entries removed to make room. */
  evictions: number;
  /** Entries removed because their expiry passed. */
  expirations: number;
}

/** Options every policy accepts. */
export interface CacheOptions<V> {
  /** Upper bound on the bytes entries cost (see `sizeOf` and `store`); must be positive. */
  maxBytes: number;
  /** Optional upper bound on the number of entries. */
  maxEntries?: number;
  /**
   * Byte size of a value; the key's UTF-8 length is added by the cache. Required unless `store` is given,
   * which then counts what an entry costs.
   */
  sizeOf?: (value: V) => number;
  /**
   * Where keys and values live; default: JavaScript values in arrays, sized by `sizeOf`. One store
   * serves one cache.
   */
  store?: SlotStore<V>;
  /**
   * Called after an entry leaves the cache, with the reason. Overwriting a key with `set` does not call
   * it; `delete` and `clear` call it with "deleted".
   */
  onEvict?: (key: string, value: V, reason: EvictionReason) => void;
  /** Clock in epoch milliseconds, for expiry; defaults to `Date.now`. */
  now?: () => number;
}

/** A bounded key-value cache with per-entry absolute expiry. */
export interface Cache<V> {
  /** Returns the live value for `key` and marks it used, or undefined when absent or expired. */
  get(key: string): V | undefined;
  /**
   * Stores `value` under `key`, evicting as the policy decides to stay within bounds. `expiresAt` is
   * epoch milliseconds, 0 (the default) for never. An entry larger than `maxBytes` is not stored.
   */
  set(key: string, value: V, expiresAt?: number): void;
  /** Removes `key`; returns whether it was present. */
  delete(key: string): boolean;
  /** Removes every entry. */
  clear(): void;
  /** Entries held (some may have expired and not yet been reclaimed). */
  readonly size: number;
  /** Bytes held. */
  readonly bytes: number;
  /** A snapshot of the counters. */
  stats(): CacheStats;
}

/** Makes a cache of one policy. */
export type CacheFactory = <V>(options: CacheOptions<V>) => Cache<V>;
