import assert from "node:assert/strict";
import { ConsistentHash } from "../../src/cache/consistent_hash.ts";
import { freePort, metricValue, startNodeProcess } from "../_node.ts";

const TOKEN = "peer-answers-token";

/** A key the peer owns on the two-member ring of `node` and `peer`. */
function keyOwnedBy(node: string, peer: string, prefix = "CNF-"): string {
  const ring = new ConsistentHash();
  ring.add(node, peer);
  return Array.from({ length: 100 }, (_, i) => `${prefix}${String(i + 1).padStart(3, "0")}`)
    .find((k) => ring.get(k) === peer)!;
}

for (const status of [503, 401]) {
  Deno.test(`a peer answering ${status}: Gets load from the node's source, writes answer 503 naming the peer's answer`, async () => {
    const peerPort = freePort();
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const seen: string[] = [];
    const peer = Deno.serve({ hostname: "127.0.0.1", port: peerPort, onListen: () => {} }, (req) => {
      seen.push(`${req.method} ${new URL(req.url).pathname}`);
      // Two lines, which the node must not pass on as two.
      const reason = status === 503 ? "unavailable: overloaded\nretry later" : "wrong peer token";
      return new Response(reason + "\n", { status });
    });
    const node = await startNodeProcess({ peers: [peerUrl], args: ["--peer-token", TOKEN] });
    try {
      const key = keyOwnedBy(node.http, peerUrl);
      const res = await fetch(`${node.http}/_cache/metrics/${key}`);
      assert.equal(res.status, 200);
      assert.equal(JSON.parse(await res.text()).cnf_id, key);
      assert.deepEqual(seen, [`GET /_cache/metrics/${key}`], "the owner was asked first");
      const group = { group: "metrics" };
      assert.equal(await metricValue(node.http, "distcache_group_peer_errors_total", group), 1);
      assert.equal(await metricValue(node.http, "distcache_group_local_fallbacks_total", group), 1);
      assert.match(node.log(), new RegExp(`"event":"peer call failed".*answered ${status}`));

      const written = keyOwnedBy(node.http, peerUrl, "w-");
      const put = await fetch(`${node.http}/_cache/metrics/${written}`, {
        method: "PUT",
        body: "v",
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      assert.equal(put.status, 503);
      const body = await put.text();
      assert.match(body, new RegExp(`peer ${peerUrl} set failed: answered ${status}`));
      assert.equal(body.split("\n").length, 2, `one line and its newline: ${JSON.stringify(body)}`);
      if (status === 503) assert.match(body, /overloaded\\u000aretry later/);
      const local = await fetch(`${node.http}/_cache/metrics/${written}`, {
        headers: { "x-distcache-forwarded": "1" },
      });
      assert.equal(local.status, 404, "the value was not kept on a node that does not own it");
      await local.body?.cancel();
    } finally {
      assert.equal(await node.stop(), 0, node.log());
      await peer.shutdown();
    }
  });
}
