import assert from "node:assert/strict";
import {
  allRegistered,
  leaseConfig,
  lightLoad,
  ringsAre,
  startEtcd,
  startEtcdNodes,
  TEST_LEASE_TTL_S,
  timeUntil,
} from "../_etcd.ts";
import type { NodeProcess } from "../_node.ts";

/**
 * The issue asks for a 10 s outage with the default 5 s lease: twice the TTL, so every node's lease has
 * expired on its own clock and must be granted anew. With the tests' 2 s lease, 5 s keeps that property
 * (2.5 times the TTL) and keeps the test short.
 */
const OUTAGE_MS = 5000;

Deno.test(`etcd down for ${OUTAGE_MS / 1000} s: nodes serve from their last ring, then register again`, async () => {
  const etcd = await startEtcd();
  const dir = await Deno.makeTempDir({ prefix: "distcache-etcd-test-" });
  const config = await leaseConfig(dir);
  const nodes: NodeProcess[] = [];
  try {
    nodes.push(...await startEtcdNodes(etcd.endpoint, dir, config, 3));
    await timeUntil(() => ringsAre(nodes, nodes), "all rings hold three members", 1000);
    const load = lightLoad(nodes);

    await etcd.kill();
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    assert.ok(await ringsAre(nodes, nodes), "every node kept its three-member ring through the outage");
    for (const n of nodes) {
      assert.equal(
        n.log().match(/etcd unreachable/g)?.length,
        1,
        `one outage line on ${n.http}:\n${n.log()}`,
      );
    }

    const restarted = performance.now();
    await etcd.restart();
    const ms = await timeUntil(
      () => allRegistered(etcd.endpoint, nodes),
      "every node registered",
      5000,
      restarted,
    );
    console.log(
      `etcd outage ${OUTAGE_MS / 1000} s: every node registered ${ms.toFixed(0)} ms after etcd restarted`,
    );
    // The keys must outlive the old leases: only a lease each node keeps alive holds them past the TTL.
    const until = performance.now() + 2 * TEST_LEASE_TTL_S * 1000 + 500;
    while (performance.now() < until) {
      assert.ok(await allRegistered(etcd.endpoint, nodes), "a node's key vanished after re-registration");
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(await ringsAre(nodes, nodes), "every ring still holds three members");
    for (const n of nodes) assert.match(n.log(), /etcd lease lost; registering again/);

    const { requests, failures } = await load.stop();
    assert.deepEqual(failures, [], `${failures.length} of ${requests} requests failed`);
    assert.ok(requests > 100, `the load kept running (${requests} requests)`);
  } finally {
    await Promise.all(nodes.map((n) => n.stop("SIGTERM")));
    await etcd.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
