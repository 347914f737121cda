import assert from "node:assert/strict";
import { runLoad } from "../../scripts/load.ts";
import {
  EVENT_SLACK_MS,
  leaseConfig,
  ringsAre,
  startEtcd,
  startEtcdNodes,
  TEST_LEASE_TTL_S,
  timeUntil,
} from "../_etcd.ts";
import type { NodeProcess } from "../_node.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const CONFIG = await Deno.readTextFile(new URL("../../config/config.yml", import.meta.url));
/** peers.timeout_ms and database.timeout_ms of config/config.yml, which the nodes run with. */
const PEER_TIMEOUT_MS = Number(/^peers:\n(?: .*\n)*? {2}timeout_ms: (\d+)/m.exec(CONFIG)![1]);
const DATABASE_TIMEOUT_MS = Number(/^database:\n(?: .*\n)*? {2}timeout_ms: (\d+)/m.exec(CONFIG)![1]);

Deno.test("under load, a killed node and a hung node cost no client an error or a wrong answer", async (t) => {
  const etcd = await startEtcd();
  const dir = await Deno.makeTempDir({ prefix: "distcache-chaos-" });
  const config = await leaseConfig(dir);
  let nodes: NodeProcess[] = [];
  let hung: NodeProcess | undefined;
  try {
    nodes = await startEtcdNodes(etcd.endpoint, dir, config, 3);
    await timeUntil(() => ringsAre(nodes, nodes), "three nodes on every ring", EVENT_SLACK_MS);

    await t.step("SIGKILL one node while the others serve a load", async () => {
      const survivors = nodes.slice(1);
      const load = runLoad({
        nodes: survivors.map((n) => n.http),
        clients: 8,
        durationS: 5,
        protocol: "http",
      });
      await sleep(1_000);
      Deno.kill(nodes[0].pid, "SIGKILL");
      const summary = await load;
      assert.equal(summary.errors, 0, JSON.stringify(summary.errorKinds));
      assert.ok(summary.requests > 0, "the load ran");
      await timeUntil(
        () => ringsAre(survivors, survivors),
        "the killed node dropped",
        TEST_LEASE_TTL_S * 1000 + EVENT_SLACK_MS,
      );
    });

    await t.step(
      "SIGSTOP one node: its keys load elsewhere; after SIGCONT it is back on the rings",
      async () => {
        const [stopped, serving] = [nodes[1], nodes[2]];
        const load = runLoad({ nodes: [serving.http], clients: 8, durationS: 5, protocol: "http" });
        await sleep(500);
        Deno.kill(stopped.pid, "SIGSTOP");
        hung = stopped;
        const summary = await load;
        assert.equal(summary.errors, 0, JSON.stringify(summary.errorKinds));
        // No request waits on the hung node past the peer deadline: the slowest is bounded by one peer
        // deadline plus one database load (config/config.yml), with room for a loaded machine. This checks
        // a bound, not a speed: latency figures come from `deno task bench load` on a healthy cluster.
        const bound = PEER_TIMEOUT_MS + DATABASE_TIMEOUT_MS + EVENT_SLACK_MS;
        assert.ok(summary.latencyMs.max < bound, `slowest ${summary.latencyMs.max} ms, bound ${bound} ms`);
        Deno.kill(stopped.pid, "SIGCONT");
        hung = undefined;
        // While stopped its lease may have expired; it registers again by itself.
        await timeUntil(
          () => ringsAre([stopped, serving], [stopped, serving]),
          "the resumed node back",
          TEST_LEASE_TTL_S * 1000 + EVENT_SLACK_MS,
        );
      },
    );
  } finally {
    if (hung) Deno.kill(hung.pid, "SIGCONT");
    await Promise.all(nodes.map((n) => n.stop()));
    await etcd.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
