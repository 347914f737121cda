/**
 * The distcache core: groups of keys cached across nodes, with the eviction policies, ring and
 * singleflight they are built from. No I/O; transports and membership plug in through
 * {@linkcode PeerPicker} and {@linkcode PeerClient}.
 *
 * @example
 * ```ts
 * import { ConsistentHash, Group } from "./mod.ts";
 *
 * const group = new Group({ name: "users", cacheBytes: 1 << 20, getter: async (id) => `user ${id}` });
 * (await group.get("7"))?.toString(); // "user 7"
 *
 * const ring = new ConsistentHash();
 * ring.add("10.0.0.1:9999", "10.0.0.2:9999");
 * ring.get("7"); // the node that owns key "7"
 * ```
 * @module
 */
export * from "./byte_view.ts";
export * from "./policy.ts";
export * from "./lru.ts";
export * from "./sieve.ts";
export * from "./fifo.ts";
export * from "./lfu.ts";
export * from "./tinylfu.ts";
export * from "./policies.ts";
export * from "./peers.ts";
export * from "./singleflight.ts";
export * from "./consistent_hash.ts";
export * from "./group.ts";
export * from "./store/slot_store.ts";
export * from "./store/object_store.ts";
export * from "./store/byte_store.ts";
