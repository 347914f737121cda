/**
 * Shared parts of the netns tests: the configuration they run with, ring checks over the hosts, and one
 * printed line per figure for docs/OPERATIONS.md.
 * @module
 */
import { type HostCluster, type NodeHost, startHostCluster } from "../../scripts/_host_cluster.ts";
import type { LoadSummary } from "../../scripts/load.ts";

/** Short lease and hot-copy lifetimes, so that every bound below is reached in seconds. */
export const LEASE_TTL_S = 2;
export const HOT_TTL_MS = 2000;
/** The shipped peer and database deadlines (config/config.yml). */
export const PEER_TIMEOUT_MS = 1000;
export const DB_TIMEOUT_MS = 2000;

/** Starts four nodes (the fourth on the third etcd member only) with the test lifetimes. */
export function startTestCluster(): Promise<HostCluster> {
  return startHostCluster({
    nodes: 4,
    lastNodeOnEtcd3: true,
    configEdits: [
      [/^(\s*lease_ttl_s:\s*)\d+/m, `$1${LEASE_TTL_S}`],
      [/^(\s*hot_ttl_ms:\s*)\d+/m, `$1${HOT_TTL_MS}`],
    ],
  });
}

/** The HTTP URLs on a node's ring, from its /healthz. */
export async function ringOf(node: NodeHost): Promise<string[]> {
  const res = await fetch(`${node.http}/healthz`, { signal: AbortSignal.timeout(1000) });
  return ((await res.json()).members as string[]).sort();
}

/** Whether each of `nodes` has exactly `expected` on its ring. */
export async function ringsAre(nodes: NodeHost[], expected: NodeHost[]): Promise<boolean> {
  const want = expected.map((n) => n.http).sort().join(",");
  const rings = await Promise.all(nodes.map((n) => ringOf(n).catch(() => [])));
  return rings.every((r) => r.join(",") === want);
}

export { timeUntil } from "../_etcd.ts";

/** Wrong answers in a load summary. */
export function wrong(s: LoadSummary): number {
  return s.errorKinds["wrong answer"] ?? 0;
}

/** Prints one figure line: `[netns] <case> | <figures>`. */
export function figure(name: string, text: string): void {
  console.log(`[netns] ${name} | ${text}`);
}

/** The load's figures in one line. */
export function loadFigures(s: LoadSummary): string {
  return `${s.requests} requests, ${s.errors} errors (${wrong(s)} wrong answers), p99 ${
    s.latencyMs.p99.toFixed(1)
  } ms, max ${s.latencyMs.max.toFixed(1)} ms`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
