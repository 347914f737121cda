/**
 * Load client for a distcache cluster: N concurrent clients read CNF metrics the way CNFs do (80% of
 * requests for the ten hot CNFs CNF-001..010, 20% for CNF-011..100), then report QPS, latency, errors,
 * and, from the nodes' own counters, the cluster's hit ratio and database reads per 10,000 requests.
 *
 * ```sh
 * deno task load --nodes http://127.0.0.1:2222,http://127.0.0.1:2223 --clients 32 --duration 30
 * deno task load --etcd 127.0.0.1:2379 --count 100000 --protocol grpc
 * ```
 * Over HTTP the requests go through the client library (src/client), which sends each key to its owner;
 * `--route random` sends each to a random node instead, as a client that knows no ring would.
 * Bounded: it needs `--duration` (at most 600 s) or `--count`, and talks only to loopback or private
 * addresses.
 * @module
 */
import { parseArgs } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { connect, type DistcacheClient } from "../src/client/mod.ts";
import { loadCnfMetricsProto } from "../src/cnf/service.ts";

/** What to run. */
export interface LoadOptions {
  /** The nodes' HTTP base URLs. */
  nodes: string[];
  /** Concurrent clients, each with one request in flight. */
  clients: number;
  /** Stop after this many seconds (at most 600) ... */
  durationS?: number;
  /** ... or after this many requests, whichever comes first. */
  count?: number;
  /** `http`: GET /_cache/metrics/<id>; `grpc`: cnfmetricspb ShowCnfMetric. */
  protocol: "http" | "grpc";
  /**
   * Over HTTP, `owner` (default): through the client library, each key to its owner; `random`: each
   * request to a random node, which forwards it to the owner. gRPC requests always go to a random node.
   */
  route?: "owner" | "random";
  /** Writes a progress line to stderr once a second. */
  progress?: boolean;
}

/** The cluster's counters, summed over the nodes, as deltas over the run. */
export interface ClusterCounters {
  /** `distcache_group_gets_total{group="metrics"}`: includes gets forwarded from node to owner. */
  gets: number;
  /** `distcache_group_cache_hits_total{group="metrics"}`: answered from an owner's main cache. */
  hits: number;
  /** `distcache_group_hot_hits_total{group="metrics"}`: answered from a non-owner's hot copy. */
  hotHits: number;
  /** `distcache_source_reads_total`: reads from the database. */
  sourceReads: number;
  /** `distcache_group_peer_loads_total` + `peer_errors_total`: gets a node forwarded to the owner. */
  forwarded: number;
}

/** The result of a run. */
export interface LoadSummary {
  protocol: "http" | "grpc";
  route: "owner" | "random";
  nodes: number;
  clients: number;
  requests: number;
  ok: number;
  errors: number;
  /** Errors by kind, e.g. `{"http 503": 3}`. */
  errorKinds: Record<string, number>;
  elapsedS: number;
  qps: number;
  /** Client-side latency of every request (successful or not), in milliseconds. */
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  /** Hot (CNF-001..010) requests; the rest were cold. */
  hotRequests: number;
  cluster: ClusterCounters & {
    /** (hits + hotHits) / gets. */
    hitRatio: number;
    /** sourceReads * 10,000 / requests. */
    sourceReadsPer10k: number;
  };
}

const MAX_DURATION_S = 600;
const MAX_CLIENTS = 4096;
const HOT_IDS = ids(1, 10);
const COLD_IDS = ids(11, 100);
const HOT_SHARE = 0.8;
const REQUEST_TIMEOUT_MS = 10_000;
// Latencies kept for percentiles; beyond this many a uniform sample (reservoir) stands in for all.
const LATENCY_SAMPLES = 1_000_000;

function ids(from: number, to: number): string[] {
  return Array.from({ length: to - from + 1 }, (_, i) => `CNF-${String(from + i).padStart(3, "0")}`);
}

/** Thrown for a bad flag; main prints it and exits 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * Refuses a node outside loopback and private networks, so the tool cannot be aimed at someone else.
 *
 * @param url A node's HTTP base URL.
 * @throws {UsageError} Naming the URL.
 */
export function checkPrivate(url: string): void {
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[(.*)\]$/, "$1");
  } catch {
    throw new UsageError(`node ${JSON.stringify(url)} is not an http://host:port URL`);
  }
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(host)?.slice(1).map(Number);
  const ok = host === "localhost" || host === "::1" || /^f[cd][0-9a-f]{2}:/i.test(host) ||
    (v4 !== undefined && (v4[0] === 127 || v4[0] === 10 || (v4[0] === 172 && v4[1] >= 16 && v4[1] <= 31) ||
      (v4[0] === 192 && v4[1] === 168)));
  if (!ok) throw new UsageError(`node ${url} is not on a loopback or private address; refusing to load it`);
}

/**
 * Reads the nodes' HTTP addresses from etcd's `GroupCache/` registrations, as the client library does.
 *
 * @param endpoint etcd's `host:port`.
 * @returns The HTTP base URLs, sorted.
 */
export async function nodesFromEtcd(endpoint: string): Promise<string[]> {
  const client = await connect({ etcd: [endpoint] });
  try {
    const urls = client.members();
    if (urls.length === 0) throw new Error(`etcd ${endpoint}: no nodes under GroupCache/`);
    return urls;
  } finally {
    await client.close();
  }
}

/** Sums the metrics group's counters over the nodes; a node that does not answer fails the run. */
async function scrape(nodes: string[]): Promise<ClusterCounters> {
  const total: ClusterCounters = { gets: 0, hits: 0, hotHits: 0, sourceReads: 0, forwarded: 0 };
  const names: Record<string, keyof ClusterCounters> = {
    distcache_group_gets_total: "gets",
    distcache_group_cache_hits_total: "hits",
    distcache_group_hot_hits_total: "hotHits",
    distcache_source_reads_total: "sourceReads",
    distcache_group_peer_loads_total: "forwarded",
    distcache_group_peer_errors_total: "forwarded",
  };
  await Promise.all(nodes.map(async (node) => {
    const res = await fetch(`${node}/metrics`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`${node}/metrics answered ${res.status}`);
    for (const line of (await res.text()).split("\n")) {
      const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
      const field = m && names[m[1]];
      if (!field) continue;
      if (field !== "sourceReads" && !m[2]?.includes('group="metrics"')) continue;
      total[field] += Number(m[3]);
    }
  }));
  return total;
}

/** A uniform sample of at most LATENCY_SAMPLES values (Vitter's algorithm R). */
class Latencies {
  readonly #samples = new Float64Array(LATENCY_SAMPLES);
  #seen = 0;

  add(ms: number): void {
    if (this.#seen < LATENCY_SAMPLES) this.#samples[this.#seen] = ms;
    else {
      const j = Math.floor(Math.random() * (this.#seen + 1));
      if (j < LATENCY_SAMPLES) this.#samples[j] = ms;
    }
    this.#seen++;
  }

  summary(): LoadSummary["latencyMs"] {
    const sorted = this.#samples.slice(0, Math.min(this.#seen, LATENCY_SAMPLES)).sort();
    const at = (q: number) =>
      sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
    return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted.length ? sorted[sorted.length - 1] : 0 };
  }
}

type Fetcher = (node: number, id: string) => Promise<string | null>;

/** An answer for another key would be worse than an error: count it as one. */
function check(body: string | null, id: string): string | null {
  if (body === null) return "not found";
  return body.includes(`"cnf_id":"${id}"`) ? null : "wrong answer";
}

/** One request per call to the given node over HTTP; resolves to null on success or the kind of error. */
function randomNodeFetcher(nodes: string[]): Fetcher {
  return async (node, id) => {
    const res = await fetch(`${nodes[node]}/_cache/metrics/${id}`, {
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const body = await res.text();
    if (res.status !== 200) return `http ${res.status}`;
    return check(body, id);
  };
}

/** Through the client library, which picks the owner (and retries on the next nodes). */
function ownerFetcher(client: DistcacheClient): Fetcher {
  const decoder = new TextDecoder();
  return async (_node, id) => {
    try {
      const bytes = await client.get("metrics", id);
      return check(bytes === null ? null : decoder.decode(bytes), id);
    } catch (e) {
      const error = e as { code?: string; status?: number };
      return error.status ? `http ${error.status}` : `client ${error.code ?? "error"}`;
    }
  };
}

/** The gRPC address each node gives in /healthz. */
async function grpcAddresses(nodes: string[]): Promise<string[]> {
  return await Promise.all(nodes.map(async (node) => {
    const res = await fetch(`${node}/healthz`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const { grpc } = await res.json();
    if (typeof grpc !== "string") throw new Error(`${node}/healthz names no gRPC address`);
    return grpc;
  }));
}

type Unary = (
  req: unknown,
  options: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: { metric?: { cnf_id?: string } }) => void,
) => void;

function grpcFetcher(clients: grpc.Client[]): Fetcher {
  return (node, id) =>
    new Promise((resolve) => {
      const client = clients[node];
      const show = (client as unknown as Record<string, Unary>).ShowCnfMetric;
      show.call(client, { cnf_id: id }, { deadline: Date.now() + REQUEST_TIMEOUT_MS }, (err, res) => {
        if (err) resolve(`grpc ${grpc.status[err.code] ?? err.code}`);
        else resolve(res?.metric?.cnf_id === id ? null : "wrong answer");
      });
    });
}

/**
 * Runs the load and returns its summary.
 *
 * @param options What to run.
 * @returns The figures of the run.
 * @example
 * ```ts
 * const summary = await runLoad({ nodes: ["http://127.0.0.1:2222"], clients: 8, count: 1000, protocol: "http" });
 * console.log(summary.qps, summary.cluster.hitRatio);
 * ```
 */
export async function runLoad(options: LoadOptions): Promise<LoadSummary> {
  const { nodes, clients, protocol } = options;
  if (nodes.length === 0) throw new UsageError("no nodes to load");
  nodes.forEach(checkPrivate);
  if (!Number.isInteger(clients) || clients < 1 || clients > MAX_CLIENTS) {
    throw new UsageError(`--clients must be an integer from 1 to ${MAX_CLIENTS} (got ${clients})`);
  }
  const { durationS, count } = options;
  if (durationS === undefined && count === undefined) {
    throw new UsageError(`give --duration (at most ${MAX_DURATION_S} s) or --count, so the run ends`);
  }
  if (durationS !== undefined && !(durationS > 0 && durationS <= MAX_DURATION_S)) {
    throw new UsageError(
      `--duration must be more than 0 and at most ${MAX_DURATION_S} seconds (got ${durationS})`,
    );
  }
  if (count !== undefined && !(Number.isSafeInteger(count) && count > 0)) {
    throw new UsageError(`--count must be a positive integer (got ${count})`);
  }

  const route = protocol === "grpc" ? "random" : options.route ?? "owner";
  const grpcClients: grpc.Client[] = [];
  let cacheClient: DistcacheClient | undefined;
  let fetcher: Fetcher;
  if (protocol === "grpc") {
    const Client = grpc.makeGenericClientConstructor(loadCnfMetricsProto(), "CnfMetricsService");
    for (const address of await grpcAddresses(nodes)) {
      grpcClients.push(new Client(address, grpc.credentials.createInsecure()));
    }
    fetcher = grpcFetcher(grpcClients);
  } else if (route === "owner") {
    // The client's own deadline per node (1 s, as the nodes' peer deadline), then the next node of the
    // ring: a hung owner costs a request about a second, not the load client's whole timeout.
    cacheClient = await connect({ seeds: nodes });
    fetcher = ownerFetcher(cacheClient);
  } else {
    fetcher = randomNodeFetcher(nodes);
  }

  const before = await scrape(nodes);
  const latencies = new Latencies();
  const errorKinds: Record<string, number> = {};
  let issued = 0;
  let done = 0;
  let hotRequests = 0;
  const started = performance.now();
  const deadline = durationS === undefined ? Infinity : started + durationS * 1000;
  const limit = count ?? Infinity;

  let lastDone = 0;
  const progress = options.progress
    ? setInterval(() => {
      const s = (performance.now() - started) / 1000;
      const errors = Object.values(errorKinds).reduce((a, b) => a + b, 0);
      const line = `[load] ${s.toFixed(0)} s  ${done} requests  ${done - lastDone} req/s  ${errors} errors`;
      lastDone = done;
      Deno.stderr.writeSync(
        new TextEncoder().encode(Deno.stderr.isTerminal() ? `\r${line}\x1b[K` : `${line}\n`),
      );
    }, 1000)
    : undefined;

  const client = async () => {
    while (issued < limit && performance.now() < deadline) {
      issued++;
      const hot = Math.random() < HOT_SHARE;
      if (hot) hotRequests++;
      const keys = hot ? HOT_IDS : COLD_IDS;
      const id = keys[Math.floor(Math.random() * keys.length)];
      const t0 = performance.now();
      let error: string | null;
      try {
        error = await fetcher(Math.floor(Math.random() * nodes.length), id);
      } catch (e) {
        error = (e as Error).name === "TimeoutError"
          ? "timeout"
          : `failed: ${(e as Error).message.slice(0, 60)}`;
      }
      latencies.add(performance.now() - t0);
      if (error !== null) errorKinds[error] = (errorKinds[error] ?? 0) + 1;
      done++;
    }
  };
  try {
    await Promise.all(Array.from({ length: clients }, client));
  } finally {
    clearInterval(progress);
    if (progress !== undefined && Deno.stderr.isTerminal()) {
      Deno.stderr.writeSync(new TextEncoder().encode("\n"));
    }
    for (const c of grpcClients) c.close();
    await cacheClient?.close();
  }
  const elapsedS = (performance.now() - started) / 1000;
  const after = await scrape(nodes);

  const delta: ClusterCounters = {
    gets: after.gets - before.gets,
    hits: after.hits - before.hits,
    hotHits: after.hotHits - before.hotHits,
    sourceReads: after.sourceReads - before.sourceReads,
    forwarded: after.forwarded - before.forwarded,
  };
  const errors = Object.values(errorKinds).reduce((a, b) => a + b, 0);
  return {
    protocol,
    route,
    nodes: nodes.length,
    clients,
    requests: done,
    ok: done - errors,
    errors,
    errorKinds,
    elapsedS,
    qps: done / elapsedS,
    latencyMs: latencies.summary(),
    hotRequests,
    cluster: {
      ...delta,
      hitRatio: delta.gets === 0 ? 0 : (delta.hits + delta.hotHits) / delta.gets,
      sourceReadsPer10k: done === 0 ? 0 : delta.sourceReads * 10_000 / done,
    },
  };
}

/**
 * Renders a summary for people.
 *
 * @param s The summary.
 * @returns Lines of text.
 */
export function formatSummary(s: LoadSummary): string {
  const c = s.cluster;
  const errorList = Object.entries(s.errorKinds).map(([k, n]) => `${k}: ${n}`).join(", ");
  return [
    `${s.requests} requests over ${s.protocol} to ${s.nodes} nodes from ${s.clients} clients in ${
      s.elapsedS.toFixed(2)
    } s`,
    `routing ${
      s.route === "owner" ? "each key to its owner (client library)" : "each request to a random node"
    }`,
    `QPS ${s.qps.toFixed(0)}`,
    `latency ms p50 ${s.latencyMs.p50.toFixed(3)}  p95 ${s.latencyMs.p95.toFixed(3)}  p99 ${
      s.latencyMs.p99.toFixed(3)
    }  max ${s.latencyMs.max.toFixed(3)}`,
    `errors ${s.errors}${errorList ? ` (${errorList})` : ""}`,
    `hot requests ${s.hotRequests} (${(100 * s.hotRequests / Math.max(1, s.requests)).toFixed(1)}%)`,
    `cluster gets ${c.gets}, main-cache hits ${c.hits}, hot-cache hits ${c.hotHits}, hit ratio ${
      (100 * c.hitRatio).toFixed(2)
    }% (gets include those forwarded to the owner)`,
    `fetched from the owner by a node ${c.forwarded} (${
      (100 * c.forwarded / Math.max(1, s.requests)).toFixed(1)
    }% of requests)`,
    `database reads ${c.sourceReads}, ${c.sourceReadsPer10k.toFixed(2)} per 10,000 requests`,
  ].join("\n");
}

const USAGE = `usage: deno task load (--nodes <url,...> | --etcd <host:port>) (--duration <s> | --count <n>)
  --clients <n>        concurrent clients (default 16)
  --protocol <p>       http (GET /_cache/metrics/<id>, default) or grpc (ShowCnfMetric)
  --route <r>          over http: owner (the client library sends each key to its owner, default) or
                       random (each request to a random node, which forwards it)
  --json               print the summary as JSON instead of text
Nodes must be on loopback or private addresses; --duration is at most ${MAX_DURATION_S} s.`;

async function main(args: string[]): Promise<number> {
  let flags;
  try {
    flags = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        nodes: { type: "string" },
        etcd: { type: "string" },
        clients: { type: "string", default: "16" },
        duration: { type: "string" },
        count: { type: "string" },
        protocol: { type: "string", default: "http" },
        route: { type: "string", default: "owner" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
    }).values;
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  try {
    if ((flags.nodes === undefined) === (flags.etcd === undefined)) {
      throw new UsageError("give exactly one of --nodes and --etcd");
    }
    if (flags.protocol !== "http" && flags.protocol !== "grpc") {
      throw new UsageError(`--protocol must be http or grpc (got ${JSON.stringify(flags.protocol)})`);
    }
    if (flags.route !== "owner" && flags.route !== "random") {
      throw new UsageError(`--route must be owner or random (got ${JSON.stringify(flags.route)})`);
    }
    if (flags.etcd !== undefined) checkPrivate(`http://${flags.etcd}`);
    const nodes = flags.nodes !== undefined
      ? flags.nodes.split(",").map((s) => s.trim().replace(/\/$/, "")).filter(Boolean)
      : await nodesFromEtcd(flags.etcd!);
    const summary = await runLoad({
      nodes,
      clients: Number(flags.clients),
      durationS: flags.duration === undefined ? undefined : Number(flags.duration),
      count: flags.count === undefined ? undefined : Number(flags.count),
      protocol: flags.protocol,
      route: flags.route,
      progress: true,
    });
    console.log(flags.json ? JSON.stringify(summary) : formatSummary(summary));
    return 0;
  } catch (e) {
    console.error(
      e instanceof UsageError ? `${e.message}\n${USAGE}` : `load failed: ${(e as Error).message}`,
    );
    return e instanceof UsageError ? 2 : 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
