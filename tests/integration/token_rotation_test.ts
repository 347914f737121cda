import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { stringify } from "yaml";
import { cacheClient, call } from "../_auth.ts";
import { freePort, metricSum, MissingMetricError, type NodeProcess, startNodeProcess } from "../_node.ts";

const OLD = "peer-old-2c9d41e7";
const NEW = "peer-new-8a03f5b6";
const LOADER = "loader-token-51aa";
/** Requests each stage must see completed before it moves on, so every switch happens under load. */
const PER_STAGE = 150;
/** Bounds of the load: it stops at the end of the rotation, or at whichever of these comes first. */
const MAX_REQUESTS = 30_000;
const MAX_LOAD_MS = 90_000;

function sum(nodes: NodeProcess[], name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricSum(nodes.map((n) => n.http), name, labels);
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test("the peer token is rotated on three nodes under load with no refused call and no client error; the old token is refused after", async () => {
  const dir = await Deno.makeTempDir({ prefix: "distcache-rotation-" });
  const ports = [freePort(), freePort(), freePort()];
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const files = ports.map((_, i) => `${dir}/peer-token-${i}`);
  const nodes: NodeProcess[] = [];
  let stopLoad = false;
  const errors: string[] = [];
  let done = 0;
  let loads: Promise<void>[] = [];
  try {
    for (const [i, file] of files.entries()) {
      await Deno.writeTextFile(file, `${OLD}\n`);
      await Deno.writeTextFile(
        `${dir}/config-${i}.yml`,
        stringify({
          // The third node is told by SIGHUP only; the others notice the file change by themselves.
          peers: { token_file: file, protocol: i === 1 ? "grpc" : "http", timeout_ms: 10_000 },
          auth: {
            reload_interval_ms: i === 2 ? 0 : 100,
            clients: [{ name: "loader", scopes: ["read", "write"], token: LOADER }],
          },
        }),
      );
    }
    nodes.push(
      ...await Promise.all(ports.map((httpPort, i) =>
        startNodeProcess({
          httpPort,
          peers: urls.filter((u) => u !== urls[i]),
          args: ["--config", `${dir}/config-${i}.yml`],
        })
      )),
    );

    // A bounded load of reads (most forwarded to the key's owner), writes (routed to the owner) and
    // deletes (sent to every node), each checked for the status a client expects.
    const worker = async (w: number) => {
      const started = Date.now();
      for (let i = 0; !stopLoad && done < MAX_REQUESTS && Date.now() - started < MAX_LOAD_MS; i++) {
        const node = nodes[(w + i) % nodes.length];
        const r = i % 10;
        const [method, key, ok] = r < 6
          ? ["GET", `read-${w}-${i}`, [404]]
          : r < 9
          ? ["PUT", `write-${i % 40}`, [204]]
          : ["DELETE", `write-${i % 40}`, [204]];
        try {
          const res = await fetch(`${node.http}/_cache/metrics/${key}`, {
            method,
            body: method === "PUT" ? `v${i}` : undefined,
            headers: { authorization: `Bearer ${LOADER}` },
          });
          const body = await res.text();
          if (!ok.includes(res.status)) errors.push(`${method} ${node.http} ${key}: ${res.status} ${body}`);
        } catch (e) {
          errors.push(`${method} ${node.http} ${key}: ${(e as Error).message}`);
        }
        done++;
      }
    };
    loads = [0, 1, 2].map(worker);

    const stages = [`${OLD}\n${NEW}\n`, `${NEW}\n${OLD}\n`, `${NEW}\n`];
    for (const [s, text] of stages.entries()) {
      const peerCalls = await sum(nodes, "distcache_peer_request_duration_seconds_count");
      const before = done;
      for (const file of files) await Deno.writeTextFile(file, text);
      Deno.kill(nodes[2].pid, "SIGHUP");
      await until(
        `every node has reloaded stage ${s + 1}`,
        async () => await sum(nodes, "distcache_auth_reloads_total", { result: "changed" }) === 3 * (s + 1),
      );
      await until(
        `${PER_STAGE} requests in stage ${s + 1}`,
        () => Promise.resolve(done - before >= PER_STAGE),
      );
      assert.ok(
        await sum(nodes, "distcache_peer_request_duration_seconds_count") > peerCalls,
        "peers were called",
      );
    }
    stopLoad = true;
    await Promise.all(loads);

    assert.deepEqual(errors.slice(0, 10), [], `${errors.length} of ${done} client requests failed`);
    assert.equal(await sum(nodes, "distcache_auth_failures_total"), 0, "no call was refused");
    // Every peer call ended "ok" or "not_found". A result's series appears with its first call, so the
    // error count is what is left of the total (which must exist) after those two.
    const calls = await sum(nodes, "distcache_peer_request_duration_seconds_count");
    const answered = await sum(nodes, "distcache_peer_request_duration_seconds_count", { result: "ok" }) +
      await sum(nodes, "distcache_peer_request_duration_seconds_count", { result: "not_found" }).catch(
        (e) => {
          if (e instanceof MissingMetricError) return 0;
          throw e;
        },
      );
    assert.ok(calls > 0, "peers were called");
    assert.equal(calls - answered, 0, "no peer call failed");
    assert.equal(await sum(nodes, "distcache_auth_tokens", { kind: "peer" }), 3, "one peer token each");

    // Afterwards the old token is refused everywhere, over HTTP and gRPC, and the new one works.
    for (const node of nodes) {
      const old = await fetch(`${node.http}/_cache/metrics/after`, {
        method: "PUT",
        body: "x",
        headers: { authorization: `Bearer ${OLD}` },
      });
      assert.equal(old.status, 401, node.http);
      assert.match(await old.text(), /wrong token/);
      const fresh = await fetch(`${node.http}/_cache/metrics/after`, {
        method: "PUT",
        body: "x",
        headers: { authorization: `Bearer ${NEW}` },
      });
      assert.equal(fresh.status, 204, await fresh.text());
      const client = cacheClient(node.grpc);
      try {
        const r = await call(client, "Delete", { group: "metrics", key: "after" }, `Bearer ${OLD}`);
        assert.equal(r.code, grpc.status.UNAUTHENTICATED);
      } finally {
        client.close();
      }
    }
    console.log(`rotation: ${done} client requests, ${errors.length} errors`);
  } finally {
    stopLoad = true;
    await Promise.all(loads);
    for (const node of nodes) assert.equal(await node.stop(), 0, node.log());
    await Deno.remove(dir, { recursive: true });
  }
});
