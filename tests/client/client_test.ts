import assert from "node:assert/strict";
import { connect, DistcacheError } from "../../src/client/mod.ts";
import { fromJson } from "../../src/cnf/cnf_metric.ts";
import { allRegistered, etcdctl, leaseConfig, startEtcd, startEtcdNodes, timeUntil } from "../_etcd.ts";
import { freePort, metricValue, type NodeProcess, startNodeProcess } from "../_node.ts";

const TOKEN = "client-test-token";
const KEYS = Array.from({ length: 100 }, (_, i) => `CNF-${String(i + 1).padStart(3, "0")}`);

/** Three nodes that name each other as static peers, sharing one SQLite file. */
async function startCluster(dir: string): Promise<NodeProcess[]> {
  const ports = [freePort(), freePort(), freePort()];
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  return await Promise.all(ports.map((p, i) =>
    startNodeProcess({
      httpPort: p,
      peers: urls.filter((_, j) => j !== i),
      db: `sqlite:${dir}/cnf.db`,
      env: { DISTCACHE_PEER_TOKEN: TOKEN },
    })
  ));
}

/** Gets forwarded from one node to another, over the cluster: each is a hop a client could have saved. */
async function forwardedGets(nodes: NodeProcess[]): Promise<number> {
  let sum = 0;
  for (const n of nodes) {
    sum += await metricValue(n.http, "distcache_group_peer_loads_total", { group: "metrics" });
    sum += await metricValue(n.http, "distcache_group_peer_errors_total", { group: "metrics" });
  }
  return sum;
}

async function direct(node: NodeProcess, key: string): Promise<Uint8Array> {
  const res = await fetch(`${node.http}/_cache/metrics/${key}`);
  assert.equal(res.status, 200);
  return new Uint8Array(await res.arrayBuffer());
}

Deno.test("client over seed nodes: same ring as the nodes, reads and writes", async (t) => {
  const dir = await Deno.makeTempDir();
  const nodes = await startCluster(dir);
  const client = await connect({ seeds: [nodes[0].http], token: TOKEN, refreshMs: 200 });
  try {
    await t.step("learns every member from one seed", () => {
      assert.deepEqual(client.members(), nodes.map((n) => n.http).sort());
    });

    await t.step(
      "each key goes to its owner: no node forwards a get while membership is stable",
      async () => {
        const before = await forwardedGets(nodes);
        for (const key of KEYS) {
          const got = await client.get("metrics", key);
          assert.ok(got, `${key} has a value`);
          assert.equal(fromJson(got).cnfId, key);
        }
        assert.equal(await forwardedGets(nodes), before);
      },
    );

    await t.step("a value read through the client is the node's bytes", async () => {
      assert.deepEqual(await client.get("metrics", "CNF-007"), await direct(nodes[1], "CNF-007"));
    });

    await t.step("an unknown key reads as null", async () => {
      assert.equal(await client.get("metrics", "CNF-999"), null);
      assert.equal(await client.showCnfMetric("CNF-998"), null);
    });

    await t.step("showCnfMetric and getMany decode the seeded rows in the order asked", async () => {
      assert.equal((await client.showCnfMetric("CNF-001"))?.metricType, "Ingress Latency");
      const asked = ["CNF-010", "CNF-999", "CNF-002", "CNF-055"];
      const batches = () =>
        Promise.all(
          nodes.map((n) => metricValue(n.http, "distcache_requests_total", { op: "batch", code: "200" })),
        );
      const before = await batches();
      const forwardedBefore = await forwardedGets(nodes);
      const many = await client.getMany("metrics", asked);
      // One batch call to each owner of the keys, none forwarded.
      const owners = new Set(asked.map((k) => client.owner(k)));
      const calls = (await batches()).map((n, i) => n - before[i]);
      assert.deepEqual(calls, nodes.map((n) => owners.has(n.http) ? 1 : 0));
      assert.equal(await forwardedGets(nodes), forwardedBefore);
      assert.equal(many.length, 4);
      assert.equal(many[1], null);
      for (const i of [0, 2, 3]) assert.equal(fromJson(many[i]!).cnfId, asked[i]);
      const metrics = await client.listCnfMetrics(asked);
      assert.deepEqual(metrics.map((m) => m?.cnfId ?? null), ["CNF-010", null, "CNF-002", "CNF-055"]);
    });

    await t.step("set and delete with the token reach every node", async () => {
      const bytes = new Uint8Array([0, 1, 2, 255, 10, 13]);
      await client.set("metrics", "client-key", bytes, { ttlMs: 60_000 });
      assert.deepEqual(await client.get("metrics", "client-key"), bytes);
      for (const n of nodes) assert.deepEqual(await direct(n, "client-key"), bytes);
      const entry = await client.getEntry("metrics", "client-key");
      assert.ok(entry && entry.expiresAt > Date.now() && entry.expiresAt <= Date.now() + 60_000);
      await client.delete("metrics", "client-key");
      assert.equal(await client.get("metrics", "client-key"), null);
    });

    await t.step("a write without a token is refused, unchanged, and never retried", async () => {
      const anonymous = await connect({ seeds: [nodes[2].http] });
      try {
        await assert.rejects(
          anonymous.set("metrics", "CNF-001", "forged"),
          (e) => e instanceof DistcacheError && e.code === "unauthenticated" && e.status === 401,
        );
        assert.equal(fromJson((await client.get("metrics", "CNF-001"))!).cnfId, "CNF-001");
      } finally {
        await anonymous.close();
      }
    });

    await t.step("input the nodes refuse is the caller's error and leaves the node in use", async () => {
      const tooLong = "k".repeat(10_000);
      for (let i = 0; i < 5; i++) {
        await assert.rejects(
          client.get("metrics", tooLong),
          (e) => e instanceof DistcacheError && e.code === "invalid_argument" && e.status === 400,
        );
      }
      // Five refusals in a row did not open any node's breaker: every key still reads at once.
      for (const key of KEYS.slice(0, 20)) assert.ok(await client.get("metrics", key));
      await assert.rejects(
        client.get("metrics", ""),
        (e) => e instanceof DistcacheError && e.code === "invalid_argument",
      );
    });

    await t.step(
      "an owner killed mid-run: its keys are read from the next nodes, no read fails",
      async () => {
        const victim = nodes[0];
        const owned = KEYS.filter((k) => client.owner(k) === victim.http);
        assert.ok(owned.length > 10, "the victim owns some keys");
        let reads = 0;
        const reading = (async () => {
          for (let round = 0; round < 3; round++) {
            for (const key of owned) {
              const got = await client.get("metrics", key);
              assert.equal(fromJson(got!).cnfId, key);
              reads++;
            }
          }
        })();
        await victim.stop("SIGKILL");
        await reading;
        assert.equal(reads, owned.length * 3);
        // The seeds' member lists drop the victim once the others' rings do: static peers keep it, so the
        // client keeps routing around it with its breaker.
        assert.ok(await client.get("metrics", owned[0]));
      },
    );
  } finally {
    await client.close();
    await Promise.all(nodes.map((n) => n.stop().catch(() => 0)));
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("client over etcd: follows joins and leaves through the watch", async (t) => {
  const etcd = await startEtcd();
  const dir = await Deno.makeTempDir();
  const config = await leaseConfig(dir);
  const nodes = await startEtcdNodes(etcd.endpoint, dir, config, 2);
  let client: Awaited<ReturnType<typeof connect>> | undefined;
  try {
    await timeUntil(() => allRegistered(etcd.endpoint, nodes), "nodes registered", 10_000);
    client = await connect({ etcd: [etcd.endpoint] });
    const c = client;
    await t.step("reads the registered members", () => {
      assert.deepEqual(c.members(), nodes.map((n) => n.http).sort());
    });
    await t.step("a node that joins is on the client's ring once it registers", async () => {
      nodes.push(...await startEtcdNodes(etcd.endpoint, dir, config, 1));
      await timeUntil(() => Promise.resolve(c.members().length === 3), "client sees the third node", 10_000);
      assert.deepEqual(c.members(), nodes.map((n) => n.http).sort());
      for (const key of KEYS.slice(0, 30)) assert.equal(fromJson((await c.get("metrics", key))!).cnfId, key);
    });
    await t.step("a node that leaves is dropped when its key goes", async () => {
      const leaving = nodes.pop()!;
      await leaving.stop();
      await timeUntil(
        () => Promise.resolve(c.members().length === 2),
        "client drops the stopped node",
        10_000,
      );
      assert.ok(!c.members().includes(leaving.http));
    });
    await t.step("a value that is not a member is skipped", async () => {
      await etcdctl(etcd.endpoint, ["put", "GroupCache/garbage", "not json"]);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(c.members(), nodes.map((n) => n.http).sort());
    });
  } finally {
    await client?.close();
    await Promise.all(nodes.map((n) => n.stop().catch(() => 0)));
    await etcd.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("connect refuses options it cannot use, naming them", async () => {
  await assert.rejects(connect({}), /seeds .* or etcd/);
  await assert.rejects(connect({ seeds: ["ftp://x"] }), /not a node URL/);
  await assert.rejects(
    connect({ seeds: ["http://127.0.0.1:1"], timeoutMs: 0 }),
    /timeoutMs must be a positive/,
  );
  await assert.rejects(
    connect({ seeds: [`http://127.0.0.1:${freePort()}`] }),
    (e) => e instanceof DistcacheError && e.code === "unavailable" && /no seed node answered/.test(e.message),
  );
});
