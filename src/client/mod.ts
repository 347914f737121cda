/**
 * The distcache client library, for services that read (and write) the cache: it learns the cluster's
 * members from etcd or seed nodes, hashes each key on the same ring the nodes use and sends it straight to
 * its owner over HTTP (`fetch`), retrying reads on the next nodes of the ring when the owner fails. Runs
 * on Deno and on Node 20+.
 *
 * @example
 * ```ts
 * import { connect } from "./mod.ts";
 *
 * const client = await connect({ etcd: ["127.0.0.1:2379"], token: Deno.env.get("DISTCACHE_TOKEN") });
 * const raw = await client.get("metrics", "CNF-001"); // Uint8Array | null
 * const metric = await client.showCnfMetric("CNF-001"); // { cnfId, timestamp, metricType, ... } | null
 * const many = await client.getMany("metrics", ["CNF-001", "CNF-002"]);
 * await client.close();
 * ```
 * @module
 */
export { connect, type ConnectOptions, DistcacheClient, type Entry, type SetOptions } from "./client.ts";
export { DistcacheError, type DistcacheErrorCode } from "./errors.ts";
export type { CnfMetric, CnfStatus } from "../cnf/cnf_metric.ts";
