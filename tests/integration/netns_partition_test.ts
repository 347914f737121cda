/**
 * Partitions on a real network: each etcd member, MariaDB, each node and the load client on a host (a
 * network namespace) of its own; nodes started with `deno task start --host <address> ...`.
 */
import assert from "node:assert/strict";
import {
  figure,
  LEASE_TTL_S,
  loadFigures,
  ringOf,
  ringsAre,
  sleep,
  startTestCluster,
  timeUntil,
  wrong,
} from "./_netns.ts";

// Each request to a random node, as a client without the ring: forwarding and local fallback are exercised.
const LOAD = ["--clients", "8", "--route", "random"];

Deno.test("netns: partitions and a cut-off node cost no wrong answer", async (t) => {
  const c = await startTestCluster();
  const [n1, n2, n3, n4] = c.nodes;
  const others = [n2, n3, n4];
  try {
    await timeUntil(() => ringsAre(c.nodes, c.nodes), "four nodes on every ring", 10_000);
    // Warm: connections, JIT and the hot keys, so the figures below are about the network.
    await c.load(c.nodes, ["--duration", "2", ...LOAD]);

    await t.step("a node cut off from the other nodes only: its keys stay answered", async () => {
      const load = c.load(c.nodes, ["--duration", "5", ...LOAD]);
      await sleep(1000);
      await c.net.partition([n1.host], others.map((n) => n.host));
      await sleep(3000);
      await c.net.join([n1.host], others.map((n) => n.host));
      const s = await load;
      figure("node cut off from the other nodes (3 s of a 5 s load on all 4 nodes)", loadFigures(s));
      assert.equal(wrong(s), 0);
      assert.equal(s.errors, 0, JSON.stringify(s.errorKinds));
      assert.ok(s.requests > 100, `only ${s.requests} requests`);
    });

    await t.step(
      "a node cut off from everything: dropped within the lease TTL + 1 s, back after",
      async () => {
        const load = c.load(others, ["--duration", "5", ...LOAD]);
        await sleep(500);
        const pid = n1.process?.pid;
        const cutAt = performance.now();
        await c.net.cut(n1.host);
        const dropped = await timeUntil(
          () => ringsAre(others, others),
          "the others dropped the cut-off node",
          (LEASE_TTL_S + 1) * 1000,
          cutAt,
        );
        // Every key, n1's former ones included, now loads on its new owner.
        for (const node of others) {
          for (let i = 1; i <= 100; i++) {
            const key = `CNF-${String(i).padStart(3, "0")}`;
            const res = await fetch(`${node.http}/_cache/metrics/${key}`, {
              signal: AbortSignal.timeout(5000),
            });
            assert.equal(res.status, 200, `${node.http} ${key}`);
            assert.match(await res.text(), new RegExp(`"cnf_id":"${key}"`));
          }
        }
        const s = await load;
        await sleep(500);
        const healAt = performance.now();
        await c.net.heal(n1.host);
        const back = await timeUntil(
          () => ringsAre(c.nodes, c.nodes),
          "the healed node back on every ring",
          (LEASE_TTL_S + 10) * 1000,
          healAt,
        );
        assert.equal(n1.process?.pid, pid, "the node was not restarted");
        figure(
          "node cut off from everything",
          `dropped by the others ${dropped.toFixed(0)} ms after the cut (lease TTL ${LEASE_TTL_S} s); ` +
            `on every ring again ${back.toFixed(0)} ms after the heal, same process; load on the others: ${
              loadFigures(s)
            }`,
        );
        assert.equal(wrong(s), 0);
        assert.equal(s.errors, 0, JSON.stringify(s.errorKinds));
      },
    );

    await t.step(
      "etcd split 2/1: the node on the minority member keeps serving on its last ring",
      async () => {
        await c.net.partition([c.etcd[2]], [c.etcd[0], c.etcd[1]]);
        // The majority lets node4's lease expire (a new leader first renews every lease); node4 cannot reach
        // a leader and keeps the ring it had. A node whose watch or keepalive sat on the minority member
        // learns within a lease TTL by its periodic re-read (and registers again if its own lease was lost).
        // The load runs once the two sides disagree.
        const dropped = await timeUntil(
          () => ringsAre([n1, n2, n3], [n1, n2, n3]),
          "the majority side dropped the node on the minority member",
          (4 * LEASE_TTL_S + 10) * 1000,
        );
        const s = await c.load(c.nodes, ["--duration", "3", ...LOAD]);
        const lastRing = await ringOf(n4);
        await c.net.join([c.etcd[2]], [c.etcd[0], c.etcd[1]]);
        const back = await timeUntil(() => ringsAre(c.nodes, c.nodes), "node4 registered again", 20_000);
        figure(
          "etcd split 2/1 (node4 on the minority member; 3 s load on all 4 nodes after the majority dropped it)",
          `${loadFigures(s)}; node4 kept its ring of ${lastRing.length}; the majority dropped it ${
            dropped.toFixed(0)
          } ms after the split; back on every ring ${back.toFixed(0)} ms after the heal`,
        );
        assert.deepEqual(lastRing, c.nodes.map((n) => n.http).sort());
        assert.equal(wrong(s), 0);
        assert.equal(s.errors, 0, JSON.stringify(s.errorKinds));
      },
    );
  } finally {
    await c.close();
  }
});
