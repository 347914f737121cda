/**
 * The names on the wire that nodes, peer clients and the client library share: paths, headers and
 * gRPC metadata keys. Everything that speaks the protocol imports them from here, so a name is
 * changed in one place or not at all.
 * @module
 */

/** Path prefix of the cache API: `/_cache/<group>/<key>`, group and key percent-encoded. */
export const CACHE_PREFIX = "/_cache/";
/** Last path segment of a batch read: `POST /_cache/<group>/_batch`. */
export const BATCH_SEGMENT = "_batch";
/**
 * Marks a request forwarded by a peer (HTTP header and gRPC metadata key): the receiver answers it
 * from its own cache or source and never forwards it again.
 */
export const FORWARDED_HEADER = "x-distcache-forwarded";
/** Carries a value's absolute expiry in Unix epoch milliseconds (absent when it never expires). */
export const EXPIRE_HEADER = "x-distcache-expire-unix-ms";
/** Sets a value's time to live in milliseconds on PUT (absent or 0: the group's default). */
export const TTL_HEADER = "x-distcache-ttl-ms";
/** Present (value "1") on an answer served from an expired value because its reload failed. */
export const STALE_HEADER = "x-distcache-stale";
/**
 * Carries a credential (HTTP header and gRPC metadata key, lower case as gRPC requires):
 * `Bearer <token>`, a peer token or a client token. Required on writes, and on reads when the node's
 * `auth.reads_require_token` is set.
 */
export const AUTHORIZATION = "authorization";
/** The etcd key prefix every node registers under: `GroupCache/<host>:<grpcPort>`. */
export const MEMBER_PREFIX = "GroupCache/";

/**
 * The path of one key of a group.
 *
 * @param group The group's name.
 * @param key The key.
 * @returns `/_cache/<group>/<key>`, both percent-encoded.
 * @example
 * ```ts
 * cachePath("metrics", "CNF 1"); // "/_cache/metrics/CNF%201"
 * ```
 */
export function cachePath(group: string, key: string): string {
  return CACHE_PREFIX + encodeURIComponent(group) + "/" + encodeURIComponent(key);
}

/**
 * The path of a batch read of a group.
 *
 * @param group The group's name.
 * @returns `/_cache/<group>/_batch`, the group percent-encoded.
 * @example
 * ```ts
 * batchPath("metrics"); // "/_cache/metrics/_batch"
 * ```
 */
export function batchPath(group: string): string {
  return CACHE_PREFIX + encodeURIComponent(group) + "/" + BATCH_SEGMENT;
}
