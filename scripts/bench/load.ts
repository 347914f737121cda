/**
 * Benchmark `load`: `deno task load`'s client against a three-node static cluster over MariaDB, HTTP
 * to each key's owner and to random nodes and gRPC to random nodes, each for a fixed time, reporting
 * QPS, latency, the cluster's hit ratio and database reads per 10,000 requests. Every node starts cold, so the reads include the first load of each key.
 * @module
 */
import { startMariaDb } from "../../tests/_mariadb.ts";
import { formatSummary, type LoadSummary, runLoad } from "../load.ts";
import {
  freePort,
  loadAverage,
  ms,
  type NodeProcess,
  printHeader,
  printTable,
  startNodeProcess,
} from "./_util.ts";

const DURATION_S = 10;
const CLIENTS = 64;

async function startCluster(db: string): Promise<NodeProcess[]> {
  const ports = [freePort(), freePort(), freePort()];
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  return await Promise.all(
    ports.map((p, i) => startNodeProcess({ httpPort: p, peers: urls.filter((_, j) => j !== i), db })),
  );
}

await printHeader("load");
const loadAtStart = await loadAverage();
const db = await startMariaDb();
const results: LoadSummary[] = [];
try {
  // HTTP both ways a client can send (through the client library to each key's owner, or to a random
  // node, as gRPC requests always go), so the protocols compare on the same route.
  const runs = [["http", "owner"], ["http", "random"], ["grpc", "random"]] as const;
  for (const [protocol, route] of runs) {
    // A fresh cluster per run, so each pays its own cold loads.
    const nodes = await startCluster(db.url);
    try {
      const summary = await runLoad({
        nodes: nodes.map((n) => n.http),
        clients: CLIENTS,
        durationS: DURATION_S,
        protocol,
        route,
      });
      console.error(formatSummary(summary));
      results.push(summary);
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  }
} finally {
  await db.stop();
}

printTable(
  [
    "protocol",
    "sent to",
    "requests",
    "QPS",
    "p50",
    "p95",
    "p99",
    "errors",
    "hit ratio (hits+hot)/gets",
    "DB reads",
    "DB reads / 10k",
  ],
  results.map((s) => [
    s.protocol,
    s.route === "owner" ? "the key's owner" : "a random node",
    String(s.requests),
    s.qps.toFixed(0),
    ms(s.latencyMs.p50),
    ms(s.latencyMs.p95),
    ms(s.latencyMs.p99),
    String(s.errors),
    `${(100 * s.cluster.hitRatio).toFixed(2)}%`,
    String(s.cluster.sourceReads),
    s.cluster.sourceReadsPer10k.toFixed(2),
  ]),
);
console.log(`
- Cluster: three nodes on this machine, static peers, one MariaDB (\`tests/_mariadb.ts\`), default
  config (TTL 60 s, hot cache 1/8). Client: \`scripts/load.ts\` in-process, ${CLIENTS} clients, ${DURATION_S} s per
  run, 80% of requests for CNF-001..010 and 20% for CNF-011..100; over HTTP once through the client
  library (\`src/client\`), which sends each key to its owner, and once each request to a random node,
  which forwards it to the owner unless it holds a hot copy; gRPC \`ShowCnfMetric\` to a random node.
- gets count every Get on every node, including those a node forwards to the key's owner, so the hit
  ratio counts a forwarded request once as a miss (on the node it reached) and once as a hit (on the owner).
- Load average (1 min) at start ${loadAtStart}, at end ${await loadAverage()}.`);
