import assert from "node:assert/strict";
import {
  allRegistered,
  EVENT_SLACK_MS,
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
    await timeUntil(() => ringsAre(nodes, nodes), "all rings hold three members", EVENT_SLACK_MS);
    const load = lightLoad(nodes);

    const killed = performance.now();
    await etcd.kill();
    // Each node notices (a broken watch, a failed keepalive within a third of the lease): an event to wait
    // for, not a time to sleep.
    await timeUntil(
      () => Promise.resolve(nodes.every((n) => /etcd unreachable/.test(n.log()))),
      "every node noticed the outage",
      TEST_LEASE_TTL_S * 1000 + EVENT_SLACK_MS,
    );
    const sentBefore = load.sent();
    // Then the outage outlasts every lease, so each node must be granted a new one.
    const rest = OUTAGE_MS - (performance.now() - killed);
    if (rest > 0) await new Promise((r) => setTimeout(r, rest));
    assert.ok(await ringsAre(nodes, nodes), "every node kept its three-member ring through the outage");
    await timeUntil(
      () => Promise.resolve(load.sent() > sentBefore),
      "requests answered during the outage",
      EVENT_SLACK_MS,
    );
    for (const n of nodes) {
      // Only transitions are logged: one outage, one line, however long it lasts.
      assert.equal(
        n.log().match(/etcd unreachable/g)?.length,
        1,
        `one outage line on ${n.http}:\n${n.log()}`,
      );
    }

    await etcd.restart();
    // Retries back off to at most 1 s (src/discovery/backoff.ts), then register at once.
    await timeUntil(
      () => allRegistered(etcd.endpoint, nodes),
      "every node registered",
      1000 + EVENT_SLACK_MS,
    );
    const sentAfterOutage = load.sent();
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
    assert.ok(requests > sentAfterOutage, `the load kept running after the outage (${requests} requests)`);
  } finally {
    await Promise.all(nodes.map((n) => n.stop("SIGTERM")));
    await etcd.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
