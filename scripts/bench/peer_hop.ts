/**
 * The cost of one peer hop: two nodes with static peers (each names the other), HTTP GETs on node A for
 * keys A owns (local hits) and for keys B owns (A fetches from B, which has them cached), over the HTTP
 * and the gRPC peer protocol. Each remote key is asked for once, so A's hot cache never answers it.
 * @module
 */
import { ConsistentHash } from "../../src/cache/consistent_hash.ts";
import { metricValue } from "../../tests/_node.ts";
import {
  freePort,
  loadAverage,
  ms,
  type NodeProcess,
  perSecond,
  printHeader,
  printTable,
  quantile,
  startNodeProcess,
} from "./_util.ts";

/** Requests per measured case (and values stored per owner). */
const REQUESTS = 4000;
/** Clients each keeping one request in flight. */
const CLIENTS = 8;
const TOKEN = "bench";
/** Every case stops after this long even if it has not made all its requests. */
const CASE_LIMIT_MS = 15_000;

/** What one case measured. */
interface CaseResult {
  requests: number;
  seconds: number;
  p50: number;
  p99: number;
}

/**
 * Runs `urls.length` requests with `CLIENTS` in flight, each URL once, and returns their latencies.
 * `init` turns a URL into the request options (GET by default).
 */
async function measure(urls: string[], init: (i: number) => RequestInit = () => ({})): Promise<CaseResult> {
  const latencies = new Float64Array(urls.length);
  let next = 0;
  let done = 0;
  const started = performance.now();
  const deadline = started + CASE_LIMIT_MS;
  const client = async () => {
    while (next < urls.length && performance.now() < deadline) {
      const i = next++;
      const t0 = performance.now();
      const res = await fetch(urls[i], init(i));
      await res.arrayBuffer();
      latencies[done++] = performance.now() - t0;
      if (!res.ok) throw new Error(`${init(i).method ?? "GET"} ${urls[i]} answered ${res.status}`);
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  const seconds = (performance.now() - started) / 1000;
  const sorted = latencies.subarray(0, done).sort();
  return { requests: done, seconds, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) };
}

/** Starts two nodes that name each other, with an extra group "bench" that holds what is PUT. */
async function startPair(protocol: "http" | "grpc", config: string): Promise<[NodeProcess, NodeProcess]> {
  const [portA, portB] = [freePort(), freePort()];
  const args = ["--config", config, "--peer-protocol", protocol, "--peer-token", TOKEN];
  return await Promise.all([
    startNodeProcess({ httpPort: portA, peers: [`http://127.0.0.1:${portB}`], args }),
    startNodeProcess({ httpPort: portB, peers: [`http://127.0.0.1:${portA}`], args }),
  ]);
}

/** Measures one protocol; returns table rows and check notes. */
async function run(
  protocol: "http" | "grpc",
  config: string,
): Promise<{ rows: string[][]; notes: string[] }> {
  const [a, b] = await startPair(protocol, config);
  try {
    const ring = new ConsistentHash();
    ring.add(a.http, b.http);
    const cnfIds = Array.from({ length: 100 }, (_, i) => `CNF-${String(i + 1).padStart(3, "0")}`);
    const localCnf = cnfIds.find((k) => ring.get(k) === a.http);
    const remoteCnf = cnfIds.find((k) => ring.get(k) === b.http);
    if (!localCnf || !remoteCnf) throw new Error("CNF-001..CNF-100 are not split between the two nodes");

    // The value every case answers: a CNF row, as on the hot path.
    const value = new Uint8Array(await (await fetch(`${a.http}/_cache/metrics/${localCnf}`)).arrayBuffer());
    const keysOf = (owner: string, prefix: string) => {
      const keys: string[] = [];
      for (let i = 0; keys.length < REQUESTS && i < REQUESTS * 100; i++) {
        if (ring.get(`${prefix}-${i}`) === owner) keys.push(`${prefix}-${i}`);
      }
      return keys;
    };
    const localKeys = keysOf(a.http, "hop");
    const remoteKeys = keysOf(b.http, "hop");
    // Each value is stored on its owner directly, so no PUT crosses to the other node.
    const put = { method: "PUT", headers: { authorization: `Bearer ${TOKEN}` }, body: value };
    await measure(localKeys.map((k) => `${a.http}/_cache/bench/${k}`), () => put);
    await measure(remoteKeys.map((k) => `${b.http}/_cache/bench/${k}`), () => put);

    const counters = async () => ({
      peerLoads: await metricValue(a.http, "distcache_group_peer_loads_total", { group: "bench" }),
      hitsOnB: await metricValue(b.http, "distcache_group_cache_hits_total", { group: "bench" }),
    });
    const localSame = await measure(Array(REQUESTS).fill(`${a.http}/_cache/metrics/${localCnf}`));
    const localDistinct = await measure(localKeys.map((k) => `${a.http}/_cache/bench/${k}`));
    const before = await counters();
    const hop = await measure(remoteKeys.map((k) => `${a.http}/_cache/bench/${k}`));
    const after = await counters();
    const remoteLoadsBefore = await metricValue(a.http, "distcache_group_peer_loads_total", {
      group: "metrics",
    });
    const remoteSame = await measure(Array(REQUESTS).fill(`${a.http}/_cache/metrics/${remoteCnf}`));
    const remoteLoads = await metricValue(a.http, "distcache_group_peer_loads_total", { group: "metrics" }) -
      remoteLoadsBefore;

    const notes: string[] = [];
    const hops = after.peerLoads - before.peerLoads;
    const ownerHits = after.hitsOnB - before.hitsOnB;
    if (hops !== hop.requests || ownerHits !== hop.requests) {
      throw new Error(
        `${protocol}: ${hop.requests} remote GETs made ${hops} peer loads on A and ${ownerHits} hits on B; ` +
          "expected one of each per request (does this ring agree with the nodes' owners?)",
      );
    }
    notes.push(
      `${protocol}: checked on the nodes' counters: the ${hop.requests} remote GETs made exactly ` +
        `${hops} peer loads on A and ${ownerHits} main-cache hits on B. The repeated remote key made ` +
        `${remoteLoads} peer load(s) in ${remoteSame.requests} GETs (the rest were A's hot cache or joined ` +
        "a load in flight).",
    );
    notes.push(
      `${protocol}: one hop adds ${ms(hop.p50 - localDistinct.p50)} at p50 and ` +
        `${ms(hop.p99 - localDistinct.p99)} at p99 over a local hit on a distinct key.`,
    );
    const row = (what: string, r: CaseResult) => [
      protocol,
      what,
      String(r.requests),
      perSecond(r.requests / r.seconds),
      ms(r.p50),
      ms(r.p99),
    ];
    return {
      rows: [
        row(`local hit, one key A owns (metrics/${localCnf}), repeated`, localSame),
        row("local hit, a distinct key A owns per request (bench/hop-*)", localDistinct),
        row("**one peer hop**, a distinct key B owns per request (bench/hop-*)", hop),
        row(`context: one key B owns (metrics/${remoteCnf}), repeated`, remoteSame),
      ],
      notes,
    };
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}

await printHeader("peer_hop");
const loadAtStart = await loadAverage();
const dir = await Deno.makeTempDir({ prefix: "distcache-bench-" });
const rows: string[][] = [];
const notes: string[] = [];
try {
  const config = `${dir}/config.yml`;
  await Deno.writeTextFile(
    config,
    [
      "peers:",
      `  token: ${TOKEN}`,
      "groups:",
      "  metrics: {}",
      "  bench:",
      "    cache_bytes: 67108864",
      "",
    ].join("\n"),
  );
  for (const protocol of ["http", "grpc"] as const) {
    const result = await run(protocol, config);
    rows.push(...result.rows);
    notes.push(...result.notes);
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}

printTable(["peer protocol", "GET on node A", "requests", "req/s", "p50", "p99"], rows);
console.log();
for (const note of notes) console.log(`- ${note}`);
console.log(
  `- Client: this script's \`fetch\`, ${CLIENTS} requests in flight, each case up to ${REQUESTS} requests ` +
    `or ${CASE_LIMIT_MS / 1000} s. Values of ${REQUESTS} keys per owner were PUT on their owner first ` +
    `(group "bench", the default ring). Latency is the ` +
    "client's, so it includes the client-to-A request as well as the hop.",
);
console.log(`- Load average (1 min) at start ${loadAtStart}, at end ${await loadAverage()}.`);
