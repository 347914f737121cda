import assert from "node:assert/strict";
import { ConsistentHash } from "../../src/cache/consistent_hash.ts";
import { freePort, metricValue, type NodeProcess, startNodeProcess } from "../_node.ts";

/** Starts three nodes that name each other as static peers. */
async function startCluster(extraArgs: string[] = []): Promise<NodeProcess[]> {
  const ports = [freePort(), freePort(), freePort()];
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  return await Promise.all(
    ports.map((p, i) =>
      startNodeProcess({ httpPort: p, peers: urls.filter((_, j) => j !== i), args: extraArgs })
    ),
  );
}

/** The node that owns `key`, computed the way every node computes it. */
function ownerOf(nodes: NodeProcess[], key: string): NodeProcess {
  const ring = new ConsistentHash();
  ring.add(...nodes.map((n) => n.http));
  const owner = ring.get(key);
  return nodes.find((n) => n.http === owner)!;
}

/** Each node's count of reads from its data source. */
function sourceReads(nodes: NodeProcess[]): Promise<number[]> {
  return Promise.all(nodes.map((n) => metricValue(n.http, "distcache_source_reads_total")));
}

for (const protocol of ["http", "grpc"]) {
  Deno.test(`three nodes over ${protocol} answer as one cache`, async (t) => {
    const nodes = await startCluster(["--peer-protocol", protocol]);
    try {
      await t.step("every node returns the same bytes for the same key", async () => {
        const bodies = await Promise.all(
          nodes.map(async (n) => {
            const res = await fetch(`${n.http}/_cache/metrics/CNF-001`);
            assert.equal(res.status, 200);
            return await res.text();
          }),
        );
        assert.equal(bodies[1], bodies[0]);
        assert.equal(bodies[2], bodies[0]);
        const row = JSON.parse(bodies[0]);
        assert.equal(row.cnf_id, "CNF-001");
        assert.equal(row.metric_type, "Ingress Latency");
      });

      await t.step(
        "300 concurrent requests for one cold key read the source once, on the owner",
        async () => {
          const before = await sourceReads(nodes);
          const key = "CNF-042";
          const responses = await Promise.all(
            Array.from({ length: 300 }, async (_, i) => {
              const res = await fetch(`${nodes[i % 3].http}/_cache/metrics/${key}`);
              return { status: res.status, body: await res.text() };
            }),
          );
          assert.ok(responses.every((r) => r.status === 200 && r.body === responses[0].body));
          const after = await sourceReads(nodes);
          const owner = nodes.indexOf(ownerOf(nodes, key));
          assert.deepEqual(after.map((n, i) => n - before[i]), nodes.map((_, i) => i === owner ? 1 : 0));
        },
      );
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });
}
