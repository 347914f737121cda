import assert from "node:assert/strict";
import { ConsistentHash } from "../../src/cache/consistent_hash.ts";
import { freePort, metricValue, startNodeProcess } from "../_node.ts";

const TIMEOUT_MS = 200;
/** Generous room for a loaded machine: the bound checks the deadline is applied, not how fast the node is. */
const SLACK_MS = 10_000;

Deno.test("an owner slower than peers.timeout_ms is given up at the deadline: the node answers from its source", async () => {
  const dir = await Deno.makeTempDir();
  const config = `${dir}/config.yml`;
  await Deno.writeTextFile(config, `peers:\n  timeout_ms: ${TIMEOUT_MS}\n`);
  const peerPort = freePort();
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const release = Promise.withResolvers<void>();
  const peer = Deno.serve({ hostname: "127.0.0.1", port: peerPort, onListen: () => {} }, async () => {
    await release.promise; // never answers within the deadline
    return new Response("too late");
  });
  const node = await startNodeProcess({ peers: [peerUrl], args: ["--config", config] });
  try {
    const ring = new ConsistentHash();
    ring.add(node.http, peerUrl);
    const key = Array.from({ length: 100 }, (_, i) => `CNF-${String(i + 1).padStart(3, "0")}`)
      .find((k) => ring.get(k) === peerUrl)!;
    // Without the deadline this request would wait on the peer forever; the signal only stops a hang.
    const started = performance.now();
    const res = await fetch(`${node.http}/_cache/metrics/${key}`, { signal: AbortSignal.timeout(30_000) });
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(await res.text()).cnf_id, key);
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= TIMEOUT_MS, `it waited for the owner up to the deadline (${elapsed} ms)`);
    assert.ok(elapsed < TIMEOUT_MS + SLACK_MS, `then gave up: ${elapsed} ms`);
    assert.equal(await metricValue(node.http, "distcache_group_peer_errors_total", { group: "metrics" }), 1);
    assert.equal(
      await metricValue(node.http, "distcache_peer_request_duration_seconds_count", { result: "error" }),
      1,
    );
  } finally {
    release.resolve();
    assert.equal(await node.stop(), 0, node.log());
    await peer.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
