/**
 * Membership through etcd, timed: how long after a node joins, leaves (SIGTERM) or crashes (SIGKILL) every
 * other node's ring shows it, with the shipped lease (5 s), over several rounds; then etcd itself killed for
 * 10 s (twice the lease) under a light load: failed requests, and how soon every node is registered again.
 * A private single-member etcd on loopback (fast elections) and SQLite nodes; needs `etcd` and `etcdctl`.
 * @module
 */
import {
  allRegistered,
  etcdctl,
  lightLoad,
  ringsAre,
  startEtcd,
  startEtcdNodes,
  timeUntil,
} from "../../tests/_etcd.ts";
import type { NodeProcess } from "../../tests/_node.ts";
import { hasCommand, loadAverage, ms, printHeader, printTable } from "./_util.ts";

/** The shipped configuration, and its `etcd.lease_ttl_s`. */
const CONFIG = new URL("../../config/config.yml", import.meta.url).pathname;
const LEASE_TTL_S = Number(/^\s*lease_ttl_s:\s*(\d+)/m.exec(await Deno.readTextFile(CONFIG))?.[1]);
if (!(LEASE_TTL_S > 0)) throw new Error(`${CONFIG} has no etcd.lease_ttl_s`);
const ROUNDS = 3;
const NODES = 3;
/** etcd is down this long: twice the lease, so every node's lease expires on its own clock. */
const OUTAGE_MS = 10_000;
/** The light load during the outage: one GET per this many ms, at most this many in all. */
const LOAD_GAP_MS = 20;
const LOAD_MAX = 2_000;

function spread(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[sorted.length >> 1];
  return `${ms(median)} (${sorted.map((v) => v.toFixed(0)).join(" / ")} ms)`;
}

await printHeader("membership");
if (!(await hasCommand("etcd")) || !(await hasCommand("etcdctl"))) {
  console.log("etcd and etcdctl are not installed (`scripts/setup.sh` installs them): nothing was measured.");
  Deno.exit(0);
}
const loadAtStart = await loadAverage();
const etcd = await startEtcd();
const dir = await Deno.makeTempDir({ prefix: "distcache-bench-membership-" });
const nodes: NodeProcess[] = [];
const join: number[] = [];
const leave: number[] = [];
const crash: number[] = [];
const rows: string[][] = [];
const notes: string[] = [];
const noneRegistered = async () =>
  (await etcdctl(etcd.endpoint, ["get", "--prefix", "--keys-only", "GroupCache/"])).trim() === "";
try {
  const crashBound = LEASE_TTL_S * 1000 + 3000;
  for (let round = 0; round < ROUNDS; round++) {
    nodes.push(...await startEtcdNodes(etcd.endpoint, dir, CONFIG, NODES));
    join.push(await timeUntil(() => ringsAre(nodes, nodes), "join: every ring complete", 5000));

    const left = nodes.pop()!;
    let started = performance.now();
    await left.stop("SIGTERM");
    leave.push(await timeUntil(() => ringsAre(nodes, nodes), "leave: survivors dropped it", 5000, started));

    const crashed = nodes.pop()!;
    started = performance.now();
    await crashed.stop("SIGKILL");
    crash.push(
      await timeUntil(() => ringsAre(nodes, nodes), "crash: survivor dropped it", crashBound, started),
    );
    // Let the next round's joins be the only change: no node of this round stays behind.
    await Promise.all(nodes.splice(0).map((n) => n.stop("SIGTERM")));
    await timeUntil(noneRegistered, "every key left etcd", crashBound);
  }
  rows.push([`join: ${NODES} nodes start together`, "after the last node was ready", spread(join)]);
  rows.push(["leave: SIGTERM to one node (lease revoked)", "after the signal", spread(leave)]);
  rows.push([`crash: SIGKILL to one node (${LEASE_TTL_S} s lease)`, "after the kill", spread(crash)]);

  nodes.push(...await startEtcdNodes(etcd.endpoint, dir, CONFIG, NODES));
  await timeUntil(() => ringsAre(nodes, nodes), "join before the outage", 5000);
  // A request slower than 2 s counts as failed: a client serving users would have given up by then.
  const load = lightLoad(nodes, LOAD_GAP_MS, LOAD_MAX, 2000);
  await etcd.kill();
  await new Promise((r) => setTimeout(r, OUTAGE_MS));
  const keptRings = await ringsAre(nodes, nodes);
  const restarted = performance.now();
  await etcd.restart();
  const registered = await timeUntil(
    () => allRegistered(etcd.endpoint, nodes),
    "registered again",
    10_000,
    restarted,
  );
  const { requests, failures } = await load.stop();
  rows.push([
    `etcd SIGKILLed for ${OUTAGE_MS / 1000} s, restarted on its data`,
    "after the restart began",
    `${ms(registered)}, every node registered`,
  ]);
  notes.push(
    `During the outage, ${failures.length} of ${requests} GETs failed (one at a time, round-robin over the ` +
      `nodes, ${LOAD_GAP_MS} ms apart, until every node was registered again), and every ring ` +
      `${keptRings ? "kept" : "did **not** keep"} its ${NODES} members.`,
  );
} finally {
  await Promise.all(nodes.map((n) => n.stop("SIGTERM")));
  await etcd.stop();
  await Deno.remove(dir, { recursive: true });
}

printTable(["event", "measured from", `converged after: median (each of ${ROUNDS} rounds)`], rows);
console.log();
notes.push(
  "Converged: every remaining node's `/healthz` `members` shows the new ring, polled every 10 ms. Single-member " +
    "etcd on loopback (`--heartbeat-interval=10 --election-timeout=100`), nodes on SQLite, one machine. The " +
    "crash time is what was left of the lease at the kill (renewed every third of its TTL, so two thirds to " +
    "all of it) plus etcd's expiry check and the nodes' 50 ms coalescing of watch events.",
);
notes.push(`Load average (1 min) at start ${loadAtStart}, at end ${await loadAverage()}.`);
for (const note of notes) console.log(`- ${note}`);
