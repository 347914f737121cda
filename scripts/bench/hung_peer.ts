/**
 * Benchmark `hung_peer`: what a hung owner costs the clients of another node. Three nodes with static
 * peers over one SQLite file; `deno task load`'s client sends every request to one node, which forwards
 * each key it does not own to the owner. In the `hung` runs one of the other two nodes is stopped with
 * SIGSTOP before the load starts: its keys wait out `peers.timeout_ms` until the node's breaker opens,
 * then load locally. `healthy` runs are the same without the stop, alternating with the hung runs, each on
 * a fresh, cold cluster.
 * @module
 */
import { type LoadSummary, runLoad } from "../load.ts";
import {
  freePort,
  loadAverage,
  ms,
  type NodeProcess,
  printHeader,
  printTable,
  startNodeProcess,
} from "./_util.ts";

const ROUNDS = 3;
const DURATION_S = 5;
const CLIENTS = 8;

async function startCluster(db: string): Promise<NodeProcess[]> {
  const ports = [freePort(), freePort(), freePort()];
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  return await Promise.all(
    ports.map((p, i) => startNodeProcess({ httpPort: p, peers: urls.filter((_, j) => j !== i), db })),
  );
}

async function run(dir: string, round: number, hung: boolean): Promise<LoadSummary> {
  const nodes = await startCluster(`sqlite:${dir}/cnf-${round}-${hung}.db`);
  let stopped = false;
  try {
    if (hung) {
      Deno.kill(nodes[1].pid, "SIGSTOP");
      stopped = true;
    }
    return await runLoad({
      nodes: [nodes[0].http],
      clients: CLIENTS,
      durationS: DURATION_S,
      protocol: "http",
      route: "random",
    });
  } finally {
    if (stopped) Deno.kill(nodes[1].pid, "SIGCONT");
    await Promise.all(nodes.map((n) => n.stop()));
  }
}

await printHeader("hung_peer");
const loadAtStart = await loadAverage();
const dir = await Deno.makeTempDir({ prefix: "distcache-bench-hung-" });
const rows: string[][] = [];
const p99Ratios: number[] = [];
try {
  for (let round = 1; round <= ROUNDS; round++) {
    const pair: Record<string, LoadSummary> = {};
    for (const hung of round % 2 === 1 ? [false, true] : [true, false]) {
      const s = await run(dir, round, hung);
      pair[hung ? "hung" : "healthy"] = s;
      rows.push([
        String(round),
        hung ? "hung" : "healthy",
        String(s.requests),
        s.qps.toFixed(0),
        ms(s.latencyMs.p50),
        ms(s.latencyMs.p99),
        ms(s.latencyMs.max),
        String(s.errors),
      ]);
    }
    p99Ratios.push(pair.hung.latencyMs.p99 / pair.healthy.latencyMs.p99);
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}

printTable(["round", "owner", "requests", "QPS", "p50", "p99", "max", "errors"], rows);
const sorted = [...p99Ratios].sort((a, b) => a - b);
console.log(`
- p99 hung / healthy, per round: ${p99Ratios.map((r) => r.toFixed(2)).join(", ")} (min ${
  sorted[0].toFixed(2)
}, max ${sorted.at(-1)!.toFixed(2)}).
- Three nodes, static peers, one SQLite file, default config (peers.timeout_ms 1000, breaker after 3 failed
  calls, back-off from 1 s). ${CLIENTS} clients for ${DURATION_S} s per run, every request to one node (--route
  random), 80% of requests for CNF-001..010. Runs alternate healthy/hung, each on a fresh cold cluster.
- Load average (1 min) at start ${loadAtStart}, at end ${await loadAverage()}.`);
