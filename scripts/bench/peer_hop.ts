/**
 * The cost of one peer hop: two nodes with static peers (each names the other), HTTP GETs on node A for
 * keys A owns (local hits) and for keys B owns (A fetches from B, which has them cached), over the HTTP
 * and the gRPC peer protocol, both pairs running at once and measured in alternating rounds. Each remote
 * key is asked for once, so A's hot cache never answers it. Target: the p99 of GETs through a gRPC hop is
 * at most 2x the p99 through an HTTP hop, round by round (exits non-zero otherwise). With `strace` installed, the owner's write
 * system calls per answered peer Get are counted too. Last, the two transports alone, without a node: this
 * script's `fetch` against a bare `Deno.serve` and a grpc-js client against a bare grpc-js server, the same
 * value and the same requests in flight, so the hop's tail can be set against what its transport has.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { ConsistentHash } from "../../src/cache/consistent_hash.ts";
import { serviceClient } from "../../src/server/proto.ts";
import { metricValue } from "../../tests/_node.ts";
import {
  freePort,
  hasCommand,
  loadAverage,
  ms,
  type NodeProcess,
  perSecond,
  printHeader,
  printTable,
  processCpuSeconds,
  quantile,
  startDenoHelper,
  startNodeProcess,
} from "./_util.ts";

/** Requests per measured case (and values stored per owner). */
const REQUESTS = 4000;
/** Clients each keeping one request in flight. */
const CLIENTS = 8;
const TOKEN = "bench";
/** The cases take turns in this many rounds, each on its own slice of the keys, protocols alternating. */
const ROUNDS = 5;
/** The p99 of GETs through a gRPC hop may be at most this many times the p99 through an HTTP hop. */
const TARGET = 2;
/** Every case stops after this long even if it has not made all its requests. */
const CASE_LIMIT_MS = 15_000;

/** What one case measured. */
interface CaseResult {
  requests: number;
  seconds: number;
  p50: number;
  p99: number;
  latencies: Float64Array;
}

/**
 * Runs `urls.length` requests with `CLIENTS` in flight, each URL once, and returns their latencies.
 * `init` turns a URL into the request options (GET by default).
 */
function measure(
  urls: string[],
  init: (i: number) => RequestInit = () => ({}),
  clients = CLIENTS,
): Promise<CaseResult> {
  return measureCalls(urls.length, async (i) => {
    const res = await fetch(urls[i], init(i));
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${init(i).method ?? "GET"} ${urls[i]} answered ${res.status}`);
  }, clients);
}

/**
 * Makes `count` calls of `call` (given the call's index) with `clients` in flight, stopping at
 * `CASE_LIMIT_MS`, and returns the latencies of those made.
 */
async function measureCalls(
  count: number,
  call: (i: number) => Promise<unknown>,
  clients = CLIENTS,
): Promise<CaseResult> {
  const latencies = new Float64Array(count);
  let next = 0;
  let done = 0;
  const started = performance.now();
  const deadline = started + CASE_LIMIT_MS;
  const client = async () => {
    while (next < count && performance.now() < deadline) {
      const i = next++;
      const t0 = performance.now();
      await call(i);
      latencies[done++] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  const seconds = (performance.now() - started) / 1000;
  const sorted = latencies.subarray(0, done).sort();
  return {
    requests: done,
    seconds,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    latencies: sorted,
  };
}

/**
 * The transports alone: `fetch` against a bare `Deno.serve` (`_bare_http.ts`) and a grpc-js channel
 * against a bare grpc-js server (`_bare_grpc.ts`), both answering `value`, `CLIENTS` requests in flight,
 * alternating over `ROUNDS` rounds; with the CPU each side spends per request (this process is the client).
 */
async function transportsAlone(value: Uint8Array, rows: string[][], notes: string[]): Promise<void> {
  const [httpPort, grpcPort] = [freePort(), freePort()];
  const body = btoa(String.fromCharCode(...value));
  const headers = JSON.stringify({ "content-type": "application/octet-stream" });
  const http = await startDenoHelper("_bare_http.ts", [String(httpPort), body, headers, "url"], httpPort);
  let rpc;
  try {
    rpc = await startDenoHelper("_bare_grpc.ts", [String(grpcPort), body, "0"], grpcPort);
  } catch (e) {
    await http.stop();
    throw e;
  }
  const Client = serviceClient("groupcache.proto", "groupcachepb.GroupCache");
  const client = new Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
  type Get = (
    req: unknown,
    md: grpc.Metadata,
    options: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null) => void,
  ) => void;
  const get = (client as unknown as { Get: Get }).Get.bind(client);
  try {
    const url = `http://127.0.0.1:${httpPort}/_cache/bench/hop`;
    // What a peer call sends besides the key: the forwarded mark and a bearer token.
    const init = { headers: { "x-distcache-forwarded": "1", authorization: `Bearer ${TOKEN}` } };
    const md = new grpc.Metadata();
    md.set("x-distcache-forwarded", "1");
    md.set("authorization", `Bearer ${TOKEN}`);
    const viaGrpc = () =>
      new Promise<void>((resolve, reject) =>
        // A deadline, as the node's peer calls have, which also bounds a call that would never end.
        get(
          { group: "bench", key: "hop" },
          md,
          { deadline: Date.now() + CASE_LIMIT_MS },
          (err) => err ? reject(err) : resolve(),
        )
      );
    const size = Math.floor(REQUESTS / ROUNDS);
    const cases = {
      http: {
        run: () => measure(Array(size).fill(url), () => init),
        pid: http.pid,
        results: [] as CaseResult[],
      },
      grpc: { run: () => measureCalls(size, viaGrpc), pid: rpc.pid, results: [] as CaseResult[] },
    };
    const cpu = { http: { client: 0, server: 0 }, grpc: { client: 0, server: 0 } };
    for (const name of ["http", "grpc"] as const) await cases[name].run(); // warm-up, not counted
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of round % 2 === 0 ? ["http", "grpc"] as const : ["grpc", "http"] as const) {
        const c = cases[name];
        const before = [await processCpuSeconds(Deno.pid), await processCpuSeconds(c.pid)];
        c.results.push(await c.run());
        cpu[name].client += await processCpuSeconds(Deno.pid) - before[0];
        cpu[name].server += await processCpuSeconds(c.pid) - before[1];
      }
    }
    const perCall = (name: "http" | "grpc", side: "client" | "server") =>
      `${(cpu[name][side] * 1e6 / merged(cases[name].results).requests).toFixed(0)} µs`;
    for (const name of ["http", "grpc"] as const) {
      const r = merged(cases[name].results);
      const what = name === "http"
        ? "transport alone: `fetch` to a bare `Deno.serve`, no node"
        : "transport alone: grpc-js client to a bare grpc-js server, no node";
      rows.push([name, what, String(r.requests), perSecond(r.requests / r.seconds), ms(r.p50), ms(r.p99)]);
    }
    const ratios = cases.grpc.results.map((g, i) => g.p99 / cases.http.results[i].p99);
    const sorted = [...ratios].sort((x, y) => x - y);
    notes.push(
      `The transports alone (no node; ${CLIENTS} in flight, the same value, the peer call's two headers): ` +
        `p99 grpc-js / \`fetch\`-to-\`Deno.serve\` per round median ${
          sorted[sorted.length >> 1].toFixed(2)
        }x ` +
        `(${sorted[0].toFixed(2)}-${sorted.at(-1)!.toFixed(2)}; ${
          ratios.map((r) => r.toFixed(2)).join(", ")
        }); ` +
        `CPU per request: HTTP client ${perCall("http", "client")}, server ${perCall("http", "server")}; ` +
        `gRPC client ${perCall("grpc", "client")}, server ${perCall("grpc", "server")}.`,
    );
  } finally {
    client.close();
    await http.stop();
    await rpc.stop();
  }
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

/** Two nodes on one peer protocol, with the keys each owns and a value stored under each. */
interface Pair {
  protocol: "http" | "grpc";
  a: NodeProcess;
  b: NodeProcess;
  localCnf: string;
  remoteCnf: string;
  localKeys: string[];
  remoteKeys: string[];
}

async function setUp(protocol: "http" | "grpc", config: string): Promise<Pair> {
  const [a, b] = await startPair(protocol, config);
  const ring = new ConsistentHash();
  ring.add(a.http, b.http);
  const cnfIds = Array.from({ length: 100 }, (_, i) => `CNF-${String(i + 1).padStart(3, "0")}`);
  const localCnf = cnfIds.find((k) => ring.get(k) === a.http);
  const remoteCnf = cnfIds.find((k) => ring.get(k) === b.http);
  if (!localCnf || !remoteCnf) throw new Error("CNF-001..CNF-100 are not split between the two nodes");
  // The value every case answers: a CNF row, as on the hot path.
  const value = new Uint8Array(await (await fetch(`${a.http}/_cache/metrics/${localCnf}`)).arrayBuffer());
  const keysOf = (owner: string, prefix: string, count: number) => {
    const keys: string[] = [];
    for (let i = 0; keys.length < count && i < count * 100; i++) {
      if (ring.get(`${prefix}-${i}`) === owner) keys.push(`${prefix}-${i}`);
    }
    return keys;
  };
  const localKeys = keysOf(a.http, "hop", REQUESTS);
  // Past the rounds' keys: 400 for one request in flight, 200 for counting writes, each asked once.
  const remoteKeys = keysOf(b.http, "hop", REQUESTS + 600);
  // Each value is stored on its owner directly, so no PUT crosses to the other node.
  const put = { method: "PUT", headers: { authorization: `Bearer ${TOKEN}` }, body: value };
  await measure(localKeys.map((k) => `${a.http}/_cache/bench/${k}`), () => put);
  await measure(remoteKeys.map((k) => `${b.http}/_cache/bench/${k}`), () => put);
  return { protocol, a, b, localCnf, remoteCnf, localKeys, remoteKeys };
}

/** The keys of round `round` out of ROUNDS. */
function slice(keys: string[], round: number): string[] {
  const size = Math.floor(REQUESTS / ROUNDS);
  return keys.slice(round * size, (round + 1) * size);
}

/** Merges the latencies of several cases into one. */
function merged(results: CaseResult[]): CaseResult {
  const all = new Float64Array(results.reduce((n, r) => n + r.latencies.length, 0));
  let at = 0;
  for (const r of results) {
    all.set(r.latencies, at);
    at += r.latencies.length;
  }
  all.sort();
  return {
    requests: all.length,
    seconds: results.reduce((n, r) => n + r.seconds, 0),
    p50: quantile(all, 0.5),
    p99: quantile(all, 0.99),
    latencies: all,
  };
}

/**
 * Counts the write system calls node B makes while answering `count` peer Gets one at a time, with
 * `strace -c` attached to it: each is a TCP segment on loopback with TCP_NODELAY, and a wake-up of
 * the other side.
 */
async function writesPerAnswer(pair: Pair, count: number): Promise<string> {
  const keys = pair.remoteKeys.slice(REQUESTS + 400, REQUESTS + 400 + count)
    .map((k) => `${pair.a.http}/_cache/bench/${k}`);
  const hitsBefore = await metricValue(pair.b.http, "distcache_group_cache_hits_total", { group: "bench" });
  const tracer = new Deno.Command("strace", {
    args: ["-f", "-c", "-e", "trace=write,writev,sendto,sendmsg", "-p", String(pair.b.pid)],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  await new Promise((r) => setTimeout(r, 500));
  for (const url of keys) await (await fetch(url)).arrayBuffer();
  tracer.kill("SIGINT");
  const report = new TextDecoder().decode((await tracer.output()).stderr);
  const answered = await metricValue(pair.b.http, "distcache_group_cache_hits_total", { group: "bench" }) -
    hitsBefore;
  let writes = 0;
  for (
    const m of report.matchAll(
      /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(write|writev|sendto|sendmsg)$/gm,
    )
  ) {
    writes += Number(m[1]);
  }
  if (answered === 0) return "n/a";
  return `${(writes / answered).toFixed(2)} (${writes} writes for ${answered} answers)`;
}

await printHeader("peer_hop");
const loadAtStart = await loadAverage();
const dir = await Deno.makeTempDir({ prefix: "distcache-bench-" });
const rows: string[][] = [];
const notes: string[] = [];
const pairs: Pair[] = [];
try {
  const config = `${dir}/config.yml`;
  await Deno.writeTextFile(
    config,
    ["peers:", `  token: ${TOKEN}`, "groups:", "  metrics: {}", "  bench:", "    cache_bytes: 67108864", ""]
      .join("\n"),
  );
  pairs.push(await setUp("http", config), await setUp("grpc", config));
  type Cases = { localSame: CaseResult[]; localDistinct: CaseResult[]; hop: CaseResult[] };
  const cases = new Map<string, Cases>(
    pairs.map((p) => [p.protocol, { localSame: [], localDistinct: [], hop: [] }]),
  );
  const hopsBefore = await Promise.all(
    pairs.map((p) => metricValue(p.a.http, "distcache_group_peer_loads_total", { group: "bench" })),
  );
  const size = Math.floor(REQUESTS / ROUNDS);
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? pairs : [...pairs].reverse();
    for (const p of order) {
      const c = cases.get(p.protocol)!;
      c.localSame.push(await measure(Array(size).fill(`${p.a.http}/_cache/metrics/${p.localCnf}`)));
      c.localDistinct.push(
        await measure(slice(p.localKeys, round).map((k) => `${p.a.http}/_cache/bench/${k}`)),
      );
      c.hop.push(await measure(slice(p.remoteKeys, round).map((k) => `${p.a.http}/_cache/bench/${k}`)));
    }
  }
  const hopP99: Record<string, number[]> = {};
  for (const [i, p] of pairs.entries()) {
    const c = cases.get(p.protocol)!;
    const hop = merged(c.hop);
    const hops = await metricValue(p.a.http, "distcache_group_peer_loads_total", { group: "bench" }) -
      hopsBefore[i];
    if (hops !== hop.requests) {
      throw new Error(
        `${p.protocol}: ${hop.requests} remote GETs made ${hops} peer loads on A; expected one each`,
      );
    }
    const local = merged(c.localDistinct);
    hopP99[p.protocol] = c.hop.map((h) => h.p99);
    const row = (what: string, r: CaseResult) => [
      p.protocol,
      what,
      String(r.requests),
      perSecond(r.requests / r.seconds),
      ms(r.p50),
      ms(r.p99),
    ];
    rows.push(
      row(`local hit, one key A owns (metrics/${p.localCnf}), repeated`, merged(c.localSame)),
      row("local hit, a distinct key A owns per request (bench/hop-*)", local),
      row("**one peer hop**, a distinct key B owns per request (bench/hop-*)", hop),
    );
    notes.push(
      `${p.protocol}: one hop adds ${ms(hop.p50 - local.p50)} at p50 and ${ms(hop.p99 - local.p99)} at p99 ` +
        `over a local hit on a distinct key (all rounds together); the ${hop.requests} remote GETs made ` +
        `exactly ${hops} peer loads on A (checked on its counters).`,
    );
  }
  const ratios = hopP99.grpc.map((g, r) => g / hopP99.http[r]);
  const sorted = [...ratios].sort((x, y) => x - y);
  const ratio = sorted[sorted.length >> 1];
  const met = ratio <= TARGET;
  if (!met) Deno.exitCode = 1;
  notes.push(
    `p99 of GETs through a gRPC hop / through an HTTP hop, per round: median ${ratio.toFixed(2)}x ` +
      `(${sorted[0].toFixed(2)}-${sorted.at(-1)!.toFixed(2)}; ${
        ratios.map((r) => r.toFixed(2)).join(", ")
      }), ` +
      `target ≤ ${TARGET}x: ${met ? "met" : "**not met**"}. The ${ROUNDS} rounds alternate the protocols, ` +
      "each round on its own slice of the keys.",
  );
  for (const p of pairs) {
    const c = await measure(
      p.remoteKeys.slice(REQUESTS, REQUESTS + 400).map((k) => `${p.a.http}/_cache/bench/${k}`),
      undefined,
      1,
    );
    notes.push(`${p.protocol}: one request in flight, one peer hop: p50 ${ms(c.p50)}, p99 ${ms(c.p99)}.`);
  }
  if (await hasCommand("strace")) {
    for (const p of pairs) {
      notes.push(
        `${p.protocol}: write system calls by owner B per answered peer Get (\`strace -c\`, one request in ` +
          `flight): ${await writesPerAnswer(p, 200)}.`,
      );
    }
  }
  const value = new Uint8Array(
    await (await fetch(`${pairs[0].a.http}/_cache/metrics/${pairs[0].localCnf}`)).arrayBuffer(),
  );
  await Promise.all(pairs.flatMap((p) => [p.a.stop(), p.b.stop()]));
  pairs.length = 0;
  await transportsAlone(value, rows, notes);
} finally {
  await Promise.all(pairs.flatMap((p) => [p.a.stop(), p.b.stop()]));
  await Deno.remove(dir, { recursive: true });
}

printTable(["peer protocol", "GET on node A", "requests", "req/s", "p50", "p99"], rows);
console.log();
for (const note of notes) console.log(`- ${note}`);
console.log(
  `- Client: this script's \`fetch\`, ${CLIENTS} requests in flight (where not said otherwise), ` +
    `${REQUESTS} requests per case over ${ROUNDS} rounds, each case up to ${
      CASE_LIMIT_MS / 1000
    } s a round. ` +
    `Values of ${REQUESTS} keys per owner were PUT on their owner first (group "bench", the default ring). ` +
    "Latency is the client's, so it includes the client-to-A request as well as the hop.",
);
console.log(`- Load average (1 min) at start ${loadAtStart}, at end ${await loadAverage()}.`);
