import assert from "node:assert/strict";
import { ConsistentHash } from "../../src/cache/consistent_hash.ts";
import { freePort, startNodeProcess } from "../_node.ts";

Deno.test("SIGTERM and SIGINT let a request in flight finish, then the node exits 0", async (t) => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    await t.step(signal, async () => {
      // A peer that answers the peer protocol slowly keeps the node's request in flight.
      const peerPort = freePort();
      const peerUrl = `http://127.0.0.1:${peerPort}`;
      const arrived = Promise.withResolvers<void>();
      const peer = Deno.serve({ hostname: "127.0.0.1", port: peerPort, onListen: () => {} }, async (req) => {
        if (new URL(req.url).pathname === "/healthz") return Response.json({ status: "ok" });
        arrived.resolve();
        await new Promise((r) => setTimeout(r, 400));
        return new Response("from-the-owner");
      });
      const nodePort = freePort();
      const node = await startNodeProcess({ httpPort: nodePort, peers: [peerUrl] });
      try {
        const ring = new ConsistentHash();
        ring.add(node.http, peerUrl);
        // A seeded CNF id, so the node's key filter lets it through to the owner.
        const key = Array.from({ length: 100 }, (_, i) => `CNF-${String(i + 1).padStart(3, "0")}`)
          .find((k) => ring.get(k) === peerUrl)!;
        const inFlight = fetch(`${node.http}/_cache/metrics/${key}`);
        await arrived.promise;
        const stopped = node.stop(signal);
        const res = await inFlight;
        assert.equal(res.status, 200);
        assert.equal(await res.text(), "from-the-owner");
        assert.equal(await stopped, 0, node.log());
        assert.match(node.log(), /"event":"node stopped"/);
        await assert.rejects(fetch(`${node.http}/readyz`));
      } finally {
        await node.stop();
        await peer.shutdown();
      }
    });
  }
});
