/**
 * The eviction policies by name, so configuration can choose one with a string.
 * @module
 */
import type { Cache, CacheFactory, CacheOptions } from "./policy.ts";
import { FifoCache } from "./fifo.ts";
import { LfuCache } from "./lfu.ts";
import { LruCache } from "./lru.ts";
import { SieveCache } from "./sieve.ts";
import { FixedTinyLfuCache, TinyLfuCache } from "./tinylfu.ts";

/**
 * Every policy, by the name configuration uses for it.
 *
 * @example
 * ```ts
 * import { policies } from "./policies.ts";
 * Object.keys(policies); // ["lru", "sieve", "fifo", "lfu", "tinylfu", "wtinylfu-fixed"]
 * ```
 */
export const policies: Record<string, CacheFactory> = {
  lru: <V>(options: CacheOptions<V>): Cache<V> => new LruCache<V>(options),
  sieve: <V>(options: CacheOptions<V>): Cache<V> => new SieveCache<V>(options),
  fifo: <V>(options: CacheOptions<V>): Cache<V> => new FifoCache<V>(options),
  lfu: <V>(options: CacheOptions<V>): Cache<V> => new LfuCache<V>(options),
  tinylfu: <V>(options: CacheOptions<V>): Cache<V> => new TinyLfuCache<V>(options),
  "wtinylfu-fixed": <V>(options: CacheOptions<V>): Cache<V> => new FixedTinyLfuCache<V>(options),
};

/**
 * Makes a cache of the named policy.
 *
 * @param policy A key of {@linkcode policies}, such as "lru" or "tinylfu".
 * @param options Bounds, sizing, eviction callback and clock.
 * @returns The new, empty cache.
 * @throws {Error} When no policy has that name; the message lists the valid names.
 * @example
 * ```ts
 * import { createCache } from "./policies.ts";
 * const cache = createCache<Uint8Array>("sieve", { maxBytes: 1 << 20, sizeOf: (v) => v.byteLength });
 * cache.set("k", new Uint8Array(3));
 * cache.bytes; // 4
 * ```
 */
export function createCache<V>(policy: string, options: CacheOptions<V>): Cache<V> {
  // Own keys only, so "toString" and friends are not policies.
  if (!Object.hasOwn(policies, policy)) {
    throw new Error(
      `unknown cache policy "${policy}"; expected one of: ${Object.keys(policies).join(", ")}`,
    );
  }
  return policies[policy](options);
}
