import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import { stringify } from "yaml";
import { ConfigError, toConfig } from "../../src/config.ts";
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

Deno.test("fuzzed configuration files are accepted or rejected with a ConfigError, nothing else", () => {
  const r = random(99);
  const values = () =>
    r.pick<unknown>([
      null,
      0,
      -1,
      1.5,
      65536,
      2 ** 60,
      "",
      "x",
      "http://127.0.0.1:1",
      "127.0.0.1:2379",
      [],
      ["a"],
      {},
      { a: 1 },
      true,
    ]);
  const sections: Record<string, string[]> = {
    node: ["host", "grpc_port", "http_port"],
    peers: ["protocol", "static", "token", "tokens", "token_file", "timeout_ms", "vnodes"],
    auth: ["reads_require_token", "reload_interval_ms", "clients"],
    etcd: ["endpoints", "lease_ttl_s"],
    database: ["url"],
    groups: ["metrics", "other", "a b"],
    limits: ["max_key_bytes", "max_value_bytes"],
    server: ["shutdown_timeout_ms"],
    nonsense: ["x"],
  };
  for (let i = 0; i < 500; i++) {
    const doc: Record<string, unknown> = {};
    for (const [section, keys] of Object.entries(sections)) {
      if (r.next() < 0.5) continue;
      doc[section] = r.next() < 0.1
        ? values()
        : Object.fromEntries(keys.filter(() => r.next() < 0.5).map((k) => [k, values()]));
    }
    const text = stringify(doc);
    try {
      toConfig(JSON.parse(JSON.stringify(doc)));
    } catch (e) {
      assert.ok(
        e instanceof ConfigError,
        `case ${i}: ${(e as Error).name}: ${(e as Error).message}\n${text}`,
      );
    }
  }
});
