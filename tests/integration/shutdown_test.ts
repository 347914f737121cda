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
      const release = Promise.withResolvers<void>();
      const peer = Deno.serve({ hostname: "127.0.0.1", port: peerPort, onListen: () => {} }, async (req) => {
        if (new URL(req.url).pathname === "/healthz") return Response.json({ status: "ok" });
        arrived.resolve();
        await release.promise;
        return new Response("from-the-owner");
      });
      // The peer answers only once the node is shutting down, so the deadline must not cut it short.
      const dir = await Deno.makeTempDir();
      await Deno.writeTextFile(`${dir}/config.yml`, "peers:\n  timeout_ms: 600000\n");
      const nodePort = freePort();
      const node = await startNodeProcess({
        httpPort: nodePort,
        peers: [peerUrl],
        args: ["--config", `${dir}/config.yml`],
      });
      try {
        const ring = new ConsistentHash();
        ring.add(node.http, peerUrl);
        // A seeded CNF id, so the node's key filter lets it through to the owner.
        const key = Array.from({ length: 100 }, (_, i) => `CNF-${String(i + 1).padStart(3, "0")}`)
          .find((k) => ring.get(k) === peerUrl)!;
        const inFlight = fetch(`${node.http}/_cache/metrics/${key}`);
        await arrived.promise;
        const stopped = node.stop(signal);
        // Events, not a delay: the node has begun its shutdown while the request is still in flight.
        while (!/"event":"shutting down"/.test(node.log())) await new Promise((r) => setTimeout(r, 20));
        release.resolve();
        const res = await inFlight;
        assert.equal(res.status, 200);
        assert.equal(await res.text(), "from-the-owner");
        assert.equal(await stopped, 0, node.log());
        assert.match(node.log(), /"event":"node stopped"/);
        await assert.rejects(fetch(`${node.http}/readyz`));
      } finally {
        release.resolve();
        await node.stop();
        await peer.shutdown();
        await Deno.remove(dir, { recursive: true });
      }
    });
  }
});
