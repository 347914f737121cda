/**
 * Benchmark `batch`: a dashboard reading 100 cached CNF metrics from one node of a three-node cluster,
 * as one `POST /_cache/metrics/_batch` or as 100 concurrent single GETs, in alternating rounds. Reports
 * the latency of one read of all 100 and the CPU the three node processes spent per key (user + system
 * from /proc/<pid>/stat). The hot cache is off, so keys other nodes own are fetched from them every time,
 * in one peer call per owner for a batch and one per key for single GETs. The batch is read twice: with
 * `accept-encoding: identity` (an answer as uncompressed as a single GET's octet-stream), and with fetch's
 * default `gzip, br`, for which Deno.serve compresses the JSON answer.
 * @module
 */
import {
  freePort,
  loadAverage,
  ms,
  type NodeProcess,
  printHeader,
  printTable,
  processCpuSeconds,
  quantile,
  startNodeProcess,
} from "./_util.ts";

const KEYS = Array.from({ length: 100 }, (_, i) => `CNF-${String(i + 1).padStart(3, "0")}`);
const ROUNDS = 6;
/** Reads of all 100 keys per round and side: enough CPU ticks (10 ms each) for a stable per-key cost. */
const READS = { batch: 100, gzip: 100, single: 20 };
/** Each round of one side stops after this long even if it has not made all its reads. */
const ROUND_LIMIT_MS = 30_000;

interface Side {
  /** Milliseconds to read all 100 keys, per read. */
  latencies: number[];
  /** Node CPU seconds per key read. */
  cpuPerKey: number;
}

async function startCluster(dir: string): Promise<NodeProcess[]> {
  const config = `${dir}/config.yml`;
  await Deno.writeTextFile(config, "groups:\n  metrics:\n    hot_cache_fraction: 0\n");
  const ports = [freePort(), freePort(), freePort()];
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const db = `sqlite:${dir}/cnf.db`;
  const args = ["--config", config];
  // The first node creates and seeds the database before the others open it.
  const first = await startNodeProcess({ httpPort: ports[0], peers: urls.slice(1), db, args });
  const rest = await Promise.all(
    ports.slice(1).map((p, i) =>
      startNodeProcess({ httpPort: p, peers: urls.filter((_, j) => j !== i + 1), db, args })
    ),
  );
  return [first, ...rest];
}

async function readBatch(node: NodeProcess, encoding = "identity"): Promise<void> {
  const res = await fetch(`${node.http}/_cache/metrics/_batch`, {
    method: "POST",
    body: JSON.stringify({ keys: KEYS }),
    headers: { "accept-encoding": encoding },
  });
  const { results } = await res.json() as { results: { status: number }[] };
  if (!res.ok || results.length !== KEYS.length || results.some((r) => r.status !== 200)) {
    throw new Error(`batch answered ${res.status} with ${results?.length} results`);
  }
}

async function readSingles(node: NodeProcess): Promise<void> {
  await Promise.all(KEYS.map(async (key) => {
    const res = await fetch(`${node.http}/_cache/metrics/${key}`);
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`GET ${key} answered ${res.status}`);
  }));
}

async function cpu(nodes: NodeProcess[]): Promise<number> {
  let sum = 0;
  for (const n of nodes) sum += await processCpuSeconds(n.pid);
  return sum;
}

async function measure(
  nodes: NodeProcess[],
  reads: number,
  read: (n: NodeProcess) => Promise<void>,
): Promise<Side> {
  const latencies: number[] = [];
  const deadline = performance.now() + ROUND_LIMIT_MS;
  const before = await cpu(nodes);
  for (let i = 0; i < reads && performance.now() < deadline; i++) {
    const t0 = performance.now();
    await read(nodes[0]);
    latencies.push(performance.now() - t0);
  }
  const spent = await cpu(nodes) - before;
  return { latencies, cpuPerKey: spent / (latencies.length * KEYS.length) };
}

await printHeader("batch");
const loadAtStart = await loadAverage();
const dir = await Deno.makeTempDir({ prefix: "distcache-bench-batch-" });
const nodes = await startCluster(dir);
const rounds: { batch: Side; gzip: Side; single: Side }[] = [];
try {
  // Every key cached on its owner, and both paths warmed up, before anything is measured.
  for (let i = 0; i < 3; i++) {
    await readSingles(nodes[0]);
    await readBatch(nodes[0]);
  }
  for (let r = 0; r < ROUNDS; r++) {
    const sides = {
      batch: () => measure(nodes, READS.batch, (n) => readBatch(n)),
      gzip: () => measure(nodes, READS.gzip, (n) => readBatch(n, "gzip, br")),
      single: () => measure(nodes, READS.single, readSingles),
    };
    // Each round starts with another side, so a slow spell of the machine does not favour one.
    const order = (["batch", "gzip", "single"] as const).map((_, i, all) => all[(i + r) % 3]);
    const round: Partial<Record<keyof typeof sides, Side>> = {};
    for (const side of order) round[side] = await sides[side]();
    rounds.push(round as { batch: Side; gzip: Side; single: Side });
  }
} finally {
  await Promise.all(nodes.map((n) => n.stop()));
  await Deno.remove(dir, { recursive: true });
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const micros = (s: number) => `${(s * 1e6).toFixed(1)} µs`;
printTable(
  [
    "round",
    "batch p50",
    "100 GETs p50",
    "batch p99",
    "100 GETs p99",
    "batch CPU/key",
    "GETs CPU/key",
    "CPU ratio",
    "latency ratio (p50)",
    "gzip batch p50",
    "gzip batch CPU/key",
  ],
  rounds.map(({ batch, gzip, single }, i) => {
    const b = sorted(batch.latencies), s = sorted(single.latencies);
    return [
      String(i + 1),
      ms(quantile(b, 0.5)),
      ms(quantile(s, 0.5)),
      ms(quantile(b, 0.99)),
      ms(quantile(s, 0.99)),
      micros(batch.cpuPerKey),
      micros(single.cpuPerKey),
      `${(single.cpuPerKey / batch.cpuPerKey).toFixed(2)}x`,
      `${(quantile(s, 0.5) / quantile(b, 0.5)).toFixed(2)}x`,
      ms(quantile(sorted(gzip.latencies), 0.5)),
      micros(gzip.cpuPerKey),
    ];
  }),
);
const cpuRatios = sorted(rounds.map(({ batch, single }) => single.cpuPerKey / batch.cpuPerKey));
const latRatios = sorted(
  rounds.map(({ batch, single }) =>
    quantile(sorted(single.latencies), 0.5) / quantile(sorted(batch.latencies), 0.5)
  ),
);
const median = (xs: number[]) => xs[xs.length >> 1];
const gzipRatios = sorted(rounds.map(({ gzip, single }) => single.cpuPerKey / gzip.cpuPerKey));
console.log(`
- Server CPU per key, 100 GETs / batch: median ${
  median(cpuRatios).toFixed(2)
}x over ${ROUNDS} rounds (spread ${cpuRatios[0].toFixed(2)}x to ${
  cpuRatios.at(-1)!.toFixed(2)
}x; target ≥ 5x: ${median(cpuRatios) >= 5 ? "met" : "not met"}).
- Latency of reading all 100 keys (p50), 100 GETs / batch: median ${median(latRatios).toFixed(2)}x (spread ${
  latRatios[0].toFixed(2)
}x to ${latRatios.at(-1)!.toFixed(2)}x; target > 1x: ${median(latRatios) > 1 ? "met" : "not met"}).
- With the batch answer gzip-compressed (fetch's default Accept-Encoding), server CPU per key, 100 GETs /
  batch: median ${median(gzipRatios).toFixed(2)}x (spread ${gzipRatios[0].toFixed(2)}x to ${
  gzipRatios.at(-1)!.toFixed(2)
}x).
- Cluster: three nodes on this machine over one SQLite file, static HTTP peers, hot cache off; every key cached
  on its owner before measuring. Client: this process, all requests to the first node; per round ${READS.batch} batches,
  ${READS.gzip} gzip batches and ${READS.single} rounds of 100 concurrent GETs, each round starting with another side.
  CPU: user + system of the three node processes from /proc/<pid>/stat (10 ms ticks), divided by the keys read.
- Load average (1 min) at start ${loadAtStart}, at end ${await loadAverage()}.`);
