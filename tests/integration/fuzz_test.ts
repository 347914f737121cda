import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import { stringify } from "yaml";
import { ConfigError, loadConfig, toConfig } from "../../src/config.ts";
import { serviceClient } from "../../src/server/proto.ts";
import { startNodeProcess } from "../_node.ts";

/** A small seeded generator (mulberry32), so a failing case can be replayed. */
function random(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  return { next, int, pick, bytes };
}

const PIECES = [
  "metrics",
  "CNF-001",
  "CNF-999",
  "",
  "%",
  "%zz",
  "%E0%A4%A",
  "%2F",
  "..",
  "a/b",
  "é",
  "💥",
  "'; DROP TABLE cnf_metric; --",
  "k".repeat(251),
  "x".repeat(2000),
  "?q=1",
  "#frag",
  "_cache",
  "nosuch",
];

Deno.test("fuzzed HTTP requests never crash a node nor get a 5xx", async () => {
  const r = random(20261126);
  const node = await startNodeProcess({ args: ["--peer-token", "fuzz-token"] });
  try {
    for (let i = 0; i < 400; i++) {
      const segments = Array.from({ length: 1 + r.int(4) }, () => r.pick(PIECES));
      const prefix = r.next() < 0.7 ? "/_cache/" : "/";
      const path = prefix + segments.join("/");
      const method = r.pick(["GET", "GET", "PUT", "DELETE", "POST", "PATCH", "OPTIONS", "HEAD"]);
      const headers: Record<string, string> = {};
      if (r.next() < 0.5) headers.authorization = r.pick(["Bearer fuzz-token", "Bearer x", "Basic abc", ""]);
      if (r.next() < 0.3) {
        headers["x-distcache-ttl-ms"] = r.pick(["0", "-1", "1e9", "abc", "99999999999999999"]);
      }
      if (r.next() < 0.3) headers["x-distcache-forwarded"] = "1";
      const body = method === "PUT" || method === "POST" ? r.bytes(r.pick([0, 1, 100, 70_000])) : undefined;
      const res = await fetch(`${node.http}${path}`, { method, headers, body });
      await res.body?.cancel();
      assert.ok(res.status < 500, `case ${i}: ${method} ${path} answered ${res.status}`);
    }
    // Bytes that are not HTTP at all, over raw TCP.
    for (let i = 0; i < 30; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(node.http).port) });
      await conn.write(
        i % 2 === 0
          ? r.bytes(1 + r.int(512))
          : new TextEncoder().encode(`GET /${"%".repeat(r.int(50))} HTTP/1.1\r\n\r\n`),
      );
      await conn.read(new Uint8Array(1024)).catch(() => null);
      conn.close();
    }
    const health = await fetch(`${node.http}/healthz`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
    const hit = await fetch(`${node.http}/_cache/metrics/CNF-001`);
    assert.equal(hit.status, 200);
    await hit.body?.cancel();
  } finally {
    assert.equal(await node.stop(), 0, node.log());
  }
});

Deno.test("fuzzed gRPC messages get a client-error status, never INTERNAL or UNKNOWN", async () => {
  const r = random(7);
  const node = await startNodeProcess({ args: ["--peer-token", "fuzz-token"] });
  const Client = serviceClient("groupcache.proto", "groupcachepb.GroupCache");
  const client = new Client(node.grpc, grpc.credentials.createInsecure());
  const allowed = new Set([
    grpc.status.OK,
    grpc.status.INVALID_ARGUMENT,
    grpc.status.NOT_FOUND,
    grpc.status.UNAUTHENTICATED,
  ]);
  try {
    for (let i = 0; i < 300; i++) {
      const method = r.pick(["Get", "Set", "Delete"]);
      const md = new grpc.Metadata();
      if (r.next() < 0.5) md.set("authorization", "Bearer fuzz-token");
      const message = Buffer.from(r.bytes(r.int(64)));
      const err = await new Promise<grpc.ServiceError | null>((resolve) =>
        client.makeUnaryRequest(
          `/groupcachepb.GroupCache/${method}`,
          (b: Buffer) => b,
          (b: Buffer) => b,
          message,
          md,
          (e) => resolve(e),
        )
      );
      const code = err?.code ?? grpc.status.OK;
      assert.ok(
        allowed.has(code),
        `case ${i}: ${method} ${message.toString("hex")} got ${grpc.status[code]}`,
      );
    }
  } finally {
    client.close();
    assert.equal(await node.stop(), 0, node.log());
  }
});

/** For each field, values it accepts and values it refuses; `groups.*` fields apply to every group. */
const FIELD_VALUES: Record<string, { good: unknown[]; bad: unknown[] }> = {
  "node.host": { good: ["127.0.0.1", "localhost"], bad: [5, []] },
  "node.grpc_port": { good: [0, 9999, 65535], bad: [-1, 65536, 1.5, "9999"] },
  "node.http_port": { good: [0, 2222, 65535], bad: [-1, 65536, "x"] },
  "peers.protocol": { good: ["http", "grpc"], bad: ["udp", 1] },
  "peers.static": {
    good: [[], ["http://127.0.0.1:1"], [{ http: "http://127.0.0.1:1", grpc: "127.0.0.1:2" }]],
    bad: ["http://127.0.0.1:1", ["127.0.0.1:1"], [5], [{ http: "http://h:1", grpc: "h" }]],
  },
  "peers.token": { good: ["", "secret"], bad: [5, ["t"]] },
  "peers.tokens": { good: [[], ["a", "b"]], bad: ["a", [5]] },
  "peers.token_file": { good: ["", "secrets/peer"], bad: [5] },
  "auth.reads_require_token": { good: [true, false], bad: ["yes", 1] },
  "auth.reload_interval_ms": { good: [0, 2000], bad: [-1, 3_600_001] },
  "auth.clients": {
    good: [[], [{ name: "app", scopes: ["read"], token: "t" }]],
    bad: [{}, [{ name: "app", scopes: [], token: "t" }], [{ name: "app", scopes: ["read"] }], [5]],
  },
  "groups.*.ttl_jitter": { good: [0, 0.1, 0.5], bad: [1, -0.1, "0.1"] },
  "groups.*.stale_if_error_ms": { good: [0, 300_000], bad: [-1, "5m"] },
  "groups.*.hot_ttl_ms": { good: [1, 10_000], bad: [0, 1.5] },
  "limits.max_batch_keys": { good: [1, 1000], bad: [0, 100_001] },
  "limits.max_batch_bytes": { good: [1, 8 << 20], bad: [0, (1 << 30) + 1] },
  "groups.*.key_filter.enabled": { good: [false], bad: ["yes", 1] },
  "peers.timeout_ms": { good: [1, 1000, 600_000], bad: [0, -1, 1.5, "1000", 600_001] },
  "peers.vnodes": { good: [1, 1024, 10_000], bad: [0, 10_001] },
  "etcd.endpoints": { good: [[], ["127.0.0.1:2379", "h:1"]], bad: [["h"], "h:1", ["h:0"]] },
  "etcd.lease_ttl_s": { good: [1, 5, 3600], bad: [0, 3601, "5"] },
  "database.url": { good: ["sqlite::memory:", "mysql://u:p@h:3306/db"], bad: [5, {}] },
  "database.timeout_ms": { good: [1, 2000], bad: [0, 2 ** 60] },
  "groups.*.cache_bytes": { good: [1024, 1 << 20], bad: [10, 1.5, "1024"] },
  "groups.*.hot_cache_fraction": { good: [0, 0.125, 0.9], bad: [1, -0.1, "0.5"] },
  "groups.*.ttl_ms": { good: [0, 60_000], bad: [-1, 0.5] },
  "groups.*.negative_ttl_ms": { good: [0, 5000], bad: [-1] },
  "groups.*.policy": { good: ["lru", "sieve", "fifo", "lfu", "tinylfu"], bad: ["bogus", "LRU", 1] },
  "limits.max_key_bytes": { good: [1, 250, 65_536], bad: [0, 65_537] },
  "limits.max_value_bytes": { good: [1, 1 << 20], bad: [0, (64 << 20) + 1] },
  "limits.max_concurrent_loads": { good: [1, 32], bad: [0, 10_001] },
  "server.shutdown_timeout_ms": { good: [0, 5000], bad: [-1, "5s"] },
  "log.level": { good: ["debug", "info", "warn", "error"], bad: ["loud", 1] },
  "tls.ca_file": { good: ["", "ca.pem"], bad: [5] },
  "tls.client_ca_file": { good: [""], bad: [5, "ca.pem"] },
};

/** Sets `path` (with `*` standing for `group`) in `doc`, making the mappings on the way. */
function put(doc: Record<string, unknown>, path: string, group: string, value: unknown): string {
  const parts = path.replace("*", group).split(".");
  let o = doc;
  for (const p of parts.slice(0, -1)) o = (o[p] ??= {}) as Record<string, unknown>;
  o[parts.at(-1)!] = value;
  return parts.join(".");
}

Deno.test("fuzzed configuration files: valid ones load with their values, each invalid one is refused naming its field", async (t) => {
  const r = random(99);
  const fields = Object.keys(FIELD_VALUES);
  /** A valid document of random fields, and the values it set by path. */
  const validDoc = () => {
    const doc: Record<string, unknown> = {};
    const set = new Map<string, unknown>();
    const group = r.pick(["metrics", "other", "g-1"]);
    for (const field of fields) {
      if (r.next() < 0.5) continue;
      const value = r.pick(FIELD_VALUES[field].good);
      set.set(put(doc, field, group, value), value);
    }
    return { doc, set, group };
  };

  await t.step("valid documents load, keeping every value they set", () => {
    for (let i = 0; i < 300; i++) {
      const { doc, set, group } = validDoc();
      const c = toConfig(structuredClone(doc));
      const g = c.groups.find((x) => x.name === group) ?? c.groups[0];
      const loaded: Record<string, unknown> = {
        "node.grpc_port": c.grpcPort,
        "peers.timeout_ms": c.peers.timeoutMs,
        "etcd.lease_ttl_s": c.etcd.leaseTtlS,
        "database.url": c.database.url,
        [`groups.${group}.policy`]: g.policy,
        [`groups.${group}.cache_bytes`]: g.cacheBytes,
        "limits.max_concurrent_loads": c.limits.maxConcurrentLoads,
        "log.level": c.log.level,
      };
      for (const [path, value] of Object.entries(loaded)) {
        if (set.has(path)) assert.deepEqual(value, set.get(path), `case ${i}: ${path}\n${stringify(doc)}`);
      }
    }
  });

  await t.step("one bad value in a valid document is refused with a ConfigError naming its field", () => {
    for (let i = 0; i < 300; i++) {
      const { doc, group } = validDoc();
      const field = r.pick(fields);
      const path = put(doc, field, group, r.pick(FIELD_VALUES[field].bad));
      assert.throws(() => toConfig(structuredClone(doc)), (e: unknown) => {
        assert.ok(e instanceof ConfigError, `case ${i}: ${e}`);
        assert.ok(e.message.includes(path), `case ${i}: "${e.message}" names ${path}\n${stringify(doc)}`);
        return true;
      });
    }
  });

  await t.step("one unknown field in a valid document is refused, naming it", () => {
    for (let i = 0; i < 300; i++) {
      const { doc, group } = validDoc();
      const field = r.pick(fields);
      // A near miss of a real field, or a field no section has.
      const path = put(doc, r.next() < 0.5 ? field + "z" : field.replace(/[^.]+$/, "x_y"), group, 1);
      assert.throws(() => toConfig(structuredClone(doc)), (e: unknown) => {
        assert.ok(e instanceof ConfigError, `case ${i}: ${e}`);
        assert.ok(
          e.message.startsWith(`${path} is not a known field; did you mean `),
          `case ${i}: "${e.message}" names ${path}`,
        );
        return true;
      });
    }
  });

  await t.step("documents of random shapes are accepted or refused with a ConfigError, nothing else", () => {
    const anything = [null, 0, -1, 1.5, 2 ** 60, "", "x", [], ["a"], {}, { a: 1 }, true];
    for (let i = 0; i < 300; i++) {
      const doc: Record<string, unknown> = {};
      for (const field of fields) {
        if (r.next() < 0.3) put(doc, field, "metrics", r.pick(anything));
      }
      if (r.next() < 0.2) doc[r.pick(["node", "peers", "groups", "tls"])] = r.pick(anything);
      try {
        toConfig(structuredClone(doc));
      } catch (e) {
        assert.ok(e instanceof ConfigError, `case ${i}: ${(e as Error).name}: ${(e as Error).message}`);
      }
    }
  });

  await t.step("the shipped config/config.yml loads", async () => {
    const c = await loadConfig(
      ["--config", new URL("../../config/config.yml", import.meta.url).pathname],
      () => undefined,
    );
    assert.notEqual(c, "help");
  });
});
