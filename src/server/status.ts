/**
 * The status page of a node, for an operator with a browser: `GET /` (HTML), `GET /_status` (the JSON it
 * shows: the ring with each member's share of keys, and this node's counters and hit ratio per group)
 * and `GET /_status/owner?key=<key>` (which member owns a key). Built only when asked for, so serving
 * cache requests costs nothing more.
 * @module
 */
import type { Group, GroupStats } from "../cache/group.ts";
import type { CacheStats } from "../cache/policy.ts";
import { STATUS_PAGE } from "./_status_page.ts";
import { keyProblem } from "./validate.ts";

/** The ring as the status page sees it. */
export interface StatusRing {
  /** Every member's id (HTTP base URL), this node included. */
  members(): string[];
  /** The id of the member owning `key`. */
  owner(key: string): string | undefined;
}

/** What the status page needs from its node. */
export interface StatusDeps {
  groups: ReadonlyMap<string, Group>;
  self: { http: string; grpc: string };
  maxKeyBytes: number;
  /** The node's ring; absent until it is built, when the node is alone. */
  ring?: StatusRing;
}

/** A member of the ring and the share of keys it owns. */
export interface MemberShare {
  id: string;
  /** Fraction of sampled keys it owns, from 0 to 1. */
  share: number;
  self: boolean;
}

/** One group's counters on this node. */
export interface GroupStatus {
  name: string;
  /** Gets answered from this node's caches (main, hot or a remembered not-found) over all gets; 0 before any. */
  hitRatio: number;
  stats: GroupStats;
  caches: Record<"main" | "hot", CacheStats & { deletions: number }>;
}

/** The body of `GET /_status`. */
export interface NodeStatus {
  node: string;
  grpc: string;
  ring: { members: MemberShare[]; sampledKeys: number };
  groups: GroupStatus[];
}

/** Keys hashed to estimate shares: enough for about ±1% on a share of a third, quick to hash (~1 ms). */
export const SAMPLED_KEYS = 10_000;

/** The last shares computed, reused while membership stays the same. */
let sharesOf: { members: string; shares: Map<string, number> } | undefined;

function shares(ring: StatusRing, members: string[]): Map<string, number> {
  const id = members.join(" ");
  if (sharesOf?.members === id) return sharesOf.shares;
  const counts = new Map(members.map((m) => [m, 0]));
  for (let i = 0; i < SAMPLED_KEYS; i++) {
    const owner = ring.owner(`status-sample-${i}`);
    if (owner !== undefined) counts.set(owner, (counts.get(owner) ?? 0) + 1);
  }
  const result = new Map([...counts].map(([m, n]) => [m, n / SAMPLED_KEYS]));
  sharesOf = { members: id, shares: result };
  return result;
}

/**
 * The node's status: ring members with their share of keys, and each group's counters.
 *
 * @param deps The node's groups, address and ring.
 * @returns A snapshot, as served by `GET /_status`.
 */
export function nodeStatus(deps: StatusDeps): NodeStatus {
  const self = deps.self.http;
  const members = deps.ring?.members() ?? [self];
  const share = deps.ring ? shares(deps.ring, members) : new Map([[self, 1]]);
  return {
    node: self,
    grpc: deps.self.grpc,
    ring: {
      members: members.map((id) => ({ id, share: share.get(id) ?? 0, self: id === self })),
      sampledKeys: SAMPLED_KEYS,
    },
    groups: [...deps.groups.values()].map((g) => {
      const stats = g.stats();
      // The definition docs/OPERATIONS.md and the dashboard use: a Get answered without a load.
      const hits = stats.cacheHits + stats.hotHits + stats.negativeHits;
      const cache = (which: "main" | "hot") => ({
        ...g.cacheStats(which),
        deletions: g.cacheDeletions(which),
      });
      return {
        name: g.name,
        hitRatio: stats.gets === 0 ? 0 : hits / stats.gets,
        stats,
        caches: { main: cache("main"), hot: cache("hot") },
      };
    }),
  };
}

function json(status: number, body: unknown): Response {
  return Response.json(body, { status, headers: { "cache-control": "no-store" } });
}

/**
 * Answers the status routes.
 *
 * @param deps The node's groups, address, key limit and ring.
 * @param path "/", "/_status" or "/_status/owner".
 * @param url The full request URL, for the owner lookup's `key` parameter.
 * @returns The page, the status JSON, or the owner of a key (400 when the key is missing or invalid).
 */
export function statusResponse(deps: StatusDeps, path: string, url: string): Response {
  if (path === "/") {
    return new Response(STATUS_PAGE, {
      headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
    });
  }
  if (path === "/_status") return json(200, nodeStatus(deps));
  const key = ownerKey(url);
  if (key === null) return json(400, { error: "expected /_status/owner?key=<key>" });
  if (key === undefined) return json(400, { error: "bad percent-encoding in the key" });
  const problem = keyProblem(key, deps.maxKeyBytes);
  if (problem) return json(400, { error: problem });
  const owner = deps.ring?.owner(key) ?? deps.self.http;
  return json(200, { key, owner, self: owner === deps.self.http });
}

/**
 * The `key` parameter of a query, percent-decoded as strictly as `/_cache` decodes its path (with `+` a
 * space, as in any query): null when absent, undefined when its percent-encoding is bad (URLSearchParams
 * would keep "%ZZ" as it is, and answer for a key nobody asked about).
 */
function ownerKey(url: string): string | null | undefined {
  const q = url.indexOf("?");
  if (q === -1) return null;
  for (const pair of url.slice(q + 1).split("&")) {
    const eq = pair.indexOf("=");
    if ((eq === -1 ? pair : pair.slice(0, eq)) !== "key") continue;
    try {
      return decodeURIComponent(eq === -1 ? "" : pair.slice(eq + 1).replace(/\+/g, " "));
    } catch {
      return undefined;
    }
  }
  return null;
}
