import assert from "node:assert/strict";
import {
  allRegistered,
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
import type { NodeProcess } from "../_node.ts";

/** Waits until `pattern` appears in the node's log. */
function logged(node: NodeProcess, pattern: RegExp, what: string, timeoutMs = EVENT_SLACK_MS) {
  return timeUntil(() => Promise.resolve(pattern.test(node.log())), what, timeoutMs);
}

Deno.test("etcd membership edges: a node started while etcd is down joins later, ignores a malformed member and puts back its deleted key", async (t) => {
  const etcd = await startEtcd();
  const dir = await Deno.makeTempDir({ prefix: "distcache-etcd-edges-" });
  const config = await leaseConfig(dir);
  const nodes: NodeProcess[] = [];
  try {
    await t.step("started while etcd is down: serves alone, then registers once etcd is up", async () => {
      await etcd.kill();
      nodes.push(...await startEtcdNodes(etcd.endpoint, dir, config, 1));
      const [a] = nodes;
      assert.match(a.log(), /etcd not reachable at start; serving alone until it is/);
      assert.deepEqual(await ringOf(a), [a.http]);
      const res = await fetch(`${a.http}/_cache/metrics/CNF-001`);
      assert.equal(res.status, 200, "it serves while etcd is down");
      await res.body?.cancel();

      await etcd.restart();
      // Retries back off to at most 1 s (src/discovery/backoff.ts).
      await timeUntil(
        () => allRegistered(etcd.endpoint, [a]),
        "registered after etcd came up",
        1000 + EVENT_SLACK_MS,
      );
      nodes.push(...await startEtcdNodes(etcd.endpoint, dir, config, 1));
      await timeUntil(() => ringsAre(nodes, nodes), "both rings hold both nodes", EVENT_SLACK_MS);
    });

    await t.step("a malformed member value is logged once and left off every ring", async () => {
      await etcdctl(etcd.endpoint, ["put", "GroupCache/10.0.0.9:1", "not json\nsecond line"]);
      await etcdctl(etcd.endpoint, ["put", "GroupCache/10.0.0.9:2", '{"Op":0,"Addr":"10.0.0.9:2"}']);
      for (const n of nodes) {
        await logged(
          n,
          /"event":"ignoring a malformed member in etcd","fields":\{"key":"GroupCache\/10\.0\.0\.9:1"/,
          "malformed member logged",
        );
        await logged(
          n,
          /"event":"ignoring a malformed member in etcd","fields":\{"key":"GroupCache\/10\.0\.0\.9:2"/,
          "member without an HTTP address logged",
        );
      }
      // Another change makes every node read the prefix again: the malformed ones are still skipped, quietly.
      await etcdctl(etcd.endpoint, ["put", "GroupCache/10.0.0.9:1", "still not json"]);
      assert.ok(await ringsAre(nodes, nodes), "rings hold only the two real nodes");
      const res = await fetch(`${nodes[1].http}/_cache/metrics/CNF-002`);
      assert.equal(res.status, 200);
      await res.body?.cancel();
      await etcdctl(etcd.endpoint, ["del", "--prefix", "GroupCache/10.0.0.9:"]);
      for (const n of nodes) {
        assert.equal(n.log().match(/GroupCache\/10\.0\.0\.9:1/g)?.length, 1, "one warning per bad key");
      }
    });

    await t.step("its key deleted by someone else, a node puts it back under its lease", async () => {
      const [a, b] = nodes;
      const deleted = await etcdctl(etcd.endpoint, ["del", `GroupCache/${a.grpc}`]);
      assert.equal(deleted.trim(), "1");
      // The delete reaches `a` as a watch event; it re-puts at once, long before its lease could matter.
      await timeUntil(() => allRegistered(etcd.endpoint, [a]), "key put back", EVENT_SLACK_MS);
      await timeUntil(() => ringsAre(nodes, nodes), "both rings hold both nodes", EVENT_SLACK_MS);
      // Still under the live lease: it outlasts the lease TTL without the node registering anew.
      await new Promise((r) => setTimeout(r, 2 * TEST_LEASE_TTL_S * 1000));
      assert.ok(await allRegistered(etcd.endpoint, [a, b]));
      assert.doesNotMatch(a.log(), /etcd lease lost/);
    });
  } finally {
    await Promise.all(nodes.map((n) => n.stop("SIGTERM")));
    await etcd.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
