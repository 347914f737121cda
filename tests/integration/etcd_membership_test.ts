import assert from "node:assert/strict";
import { ConsistentHash } from "../../src/cache/consistent_hash.ts";
import {
  etcdctl,
  EVENT_SLACK_MS,
  leaseConfig,
  ringOf,
  ringsAre,
  startEtcd,
  startEtcdNodes,
  TEST_LEASE_TTL_S,
  timeUntil,
} from "../_etcd.ts";
import { metricValue, type NodeProcess } from "../_node.ts";

const KEYS = Array.from({ length: 100 }, (_, i) => `CNF-${String(i + 1).padStart(3, "0")}`);

function ownerOf(nodes: NodeProcess[], key: string): NodeProcess {
  const ring = new ConsistentHash();
  ring.add(...nodes.map((n) => n.http));
  return nodes.find((n) => n.http === ring.get(key))!;
}

/** GETs `keys` through every node in `nodes`; returns the failures as "node key status" strings. */
async function failedGets(nodes: NodeProcess[], keys: string[]): Promise<string[]> {
  const failures: string[] = [];
  await Promise.all(nodes.flatMap((n) =>
    keys.map(async (k) => {
      const res = await fetch(`${n.http}/_cache/metrics/${k}`);
      const body = await res.text();
      if (res.status !== 200 || JSON.parse(body).cnf_id !== k) failures.push(`${n.http} ${k} ${res.status}`);
    })
  ));
  return failures;
}

Deno.test("etcd membership: nodes join, leave on SIGTERM and drop a crashed node after the lease", async (t) => {
  const etcd = await startEtcd();
  const dir = await Deno.makeTempDir({ prefix: "distcache-etcd-test-" });
  const config = await leaseConfig(dir);
  const nodes: NodeProcess[] = [];
  try {
    await t.step("three nodes see all three on their rings", async () => {
      nodes.push(...await startEtcdNodes(etcd.endpoint, dir, config, 3));
      // A join reaches the others as a watch event; the lease plays no part, so only slack bounds it.
      await timeUntil(() => ringsAre(nodes, nodes), "all rings hold three members", EVENT_SLACK_MS);
    });

    await t.step("etcdctl lists each node's gRPC address in the endpoints-manager format", async () => {
      const lines = (await etcdctl(etcd.endpoint, ["get", "--prefix", "GroupCache/"])).trim().split("\n");
      const listed = new Map<string, string>();
      for (let i = 0; i + 1 < lines.length; i += 2) listed.set(lines[i], lines[i + 1]);
      assert.equal(listed.size, 3);
      for (const n of nodes) {
        const value = listed.get(`GroupCache/${n.grpc}`);
        assert.ok(value, `no key GroupCache/${n.grpc} in ${[...listed.keys()]}`);
        assert.deepEqual(JSON.parse(value), { Op: 0, Addr: n.grpc, Metadata: { http: n.http } });
      }
    });

    await t.step("every key is served through every node", async () => {
      assert.deepEqual(await failedGets(nodes, KEYS), []);
    });

    await t.step(
      "SIGTERM: the node removes its key before it exits, the others drop it; its keys move to the new owners",
      async () => {
        const gone = nodes[2];
        const survivors = nodes.slice(0, 2);
        assert.equal(await gone.stop("SIGTERM"), 0, gone.log());
        // Order, not time: by the time the process has exited its key is gone (lease revoked), so the
        // others learn of it from a watch event rather than from the lease running out.
        const keys = await etcdctl(etcd.endpoint, ["get", "--prefix", "--keys-only", "GroupCache/"]);
        assert.ok(!keys.includes(`GroupCache/${gone.grpc}\n`), `still registered after exit:\n${keys}`);
        await timeUntil(() => ringsAre(survivors, survivors), "survivors dropped the node", EVENT_SLACK_MS);
        assert.match(gone.log(), /left etcd/);
        assert.deepEqual(await failedGets(survivors, KEYS), []);
        // A key owned by the stopped node, set through a survivor, lands on its new owner on the ring.
        const key = KEYS.map((k) => `moved-${k}`).find((k) => ownerOf(nodes, k) === gone)!;
        const newOwner = ownerOf(survivors, key);
        const other = survivors.find((n) => n !== newOwner)!;
        const put = await fetch(`${other.http}/_cache/metrics/${key}`, {
          method: "PUT",
          body: "v",
          headers: { authorization: "Bearer distcache-dev-token" },
        });
        assert.equal(put.status, 204, await put.text());
        const direct = await fetch(`${newOwner.http}/_cache/metrics/${key}`, {
          headers: { "x-distcache-forwarded": "1" },
        });
        assert.equal(direct.status, 200, "the new owner holds the key itself");
        assert.equal(await direct.text(), "v");
        nodes.pop();
      },
    );

    await t.step(`SIGKILL: the other drops the node once its lease (etcd.lease_ttl_s) runs out`, async () => {
      const crashed = nodes[1];
      const started = performance.now();
      await crashed.stop("SIGKILL");
      await timeUntil(
        () => ringsAre([nodes[0]], [nodes[0]]),
        "survivor dropped the crashed node",
        TEST_LEASE_TTL_S * 1000 + EVENT_SLACK_MS,
        started,
      );
      nodes.pop();
      const before = await metricValue(nodes[0].http, "distcache_group_peer_errors_total");
      assert.deepEqual(await failedGets(nodes, KEYS), []);
      assert.equal(await metricValue(nodes[0].http, "distcache_group_peer_errors_total"), before);
      assert.deepEqual(await ringOf(nodes[0]), [nodes[0].http]);
    });
  } finally {
    await Promise.all(nodes.map((n) => n.stop("SIGTERM")));
    await etcd.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
