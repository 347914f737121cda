/**
 * Test helpers: run real node processes (main.ts) on free loopback ports and read their metrics.
 * @module
 */

import { freePort, spawnWatched } from "./_process.ts";

export { freePort };

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const CONFIG = new URL("../config/config.yml", import.meta.url).pathname;

const START_TASK: string = JSON.parse(
  await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
).tasks.start;

/**
 * The permissions `deno task start` grants and denies a node (network, environment) and its V8 flags, so
 * that the tests catch a permission the task lacks and run the node as the task does. Only file access is
 * widened, for the tests' temporary databases and files.
 */
export const NODE_PERMISSIONS = [
  "--no-prompt",
  "--allow-read",
  "--allow-write",
  ...START_TASK.split(" ").filter((flag) => /^--((allow|deny)-(net|env|sys)\b|v8-flags=)/.test(flag)),
];

/** A node process started by a test. */
export interface NodeProcess {
  readonly pid: number;
  readonly http: string;
  readonly grpc: string;
  /** Everything the node wrote to stderr so far. */
  log(): string;
  /** Sends `signal` and waits for the exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
}

/** How to start a node process. */
export interface NodeProcessOptions {
  httpPort?: number;
  grpcPort?: number;
  peers?: string[];
  db?: string;
  args?: string[];
  env?: Record<string, string>;
  /** "https" for a node configured with a certificate; readiness is then checked against `caFile`. */
  scheme?: "http" | "https";
  caFile?: string;
  /** A client certificate and key (PEM files) for the readiness check, for a node that requires one. */
  clientCert?: { certFile: string; keyFile: string };
  /** V8 flags in place of the start task's (`--v8-flags=...`), for a benchmark that compares them. */
  v8Flags?: string;
}

/** Runs main.ts with the given flags, returning once /readyz answers 200. */
export async function startNodeProcess(options: NodeProcessOptions = {}): Promise<NodeProcess> {
  const httpPort = options.httpPort ?? freePort();
  const grpcPort = options.grpcPort ?? freePort();
  const permissions = options.v8Flags === undefined
    ? NODE_PERMISSIONS
    : [...NODE_PERMISSIONS.filter((flag) => !flag.startsWith("--v8-flags=")), options.v8Flags];
  const args = [
    "run",
    ...permissions,
    MAIN,
    "--config",
    CONFIG,
    "--http-port",
    String(httpPort),
    "--grpc-port",
    String(grpcPort),
    "--db",
    options.db ?? "sqlite::memory:",
    ...(options.peers ? ["--peers", options.peers.join(",")] : []),
    ...(options.args ?? []),
  ];
  const child = spawnWatched(Deno.execPath(), args, options.env);
  const http = `${options.scheme ?? "http"}://127.0.0.1:${httpPort}`;
  const identity = options.clientCert
    ? {
      cert: await Deno.readTextFile(options.clientCert.certFile),
      key: await Deno.readTextFile(options.clientCert.keyFile),
    }
    : {};
  const client = options.caFile
    ? Deno.createHttpClient({ caCerts: [await Deno.readTextFile(options.caFile)], ...identity })
    : undefined;
  try {
    await child.waitUntil(async () => {
      // The node on the port must be ours: on a shared machine another process may take the port between
      // the check in freePort and the bind, and its /readyz must not pass for this node's (which then exits,
      // failing here with its message). Ours reports the gRPC port it was given.
      const health = await fetch(`${http}/healthz`, { client });
      if (!health.ok || !String((await health.json()).grpc).endsWith(`:${grpcPort}`)) return false;
      const res = await fetch(`${http}/readyz`, { client });
      await res.body?.cancel();
      return res.ok;
    }, "ready");
  } finally {
    client?.close();
  }
  return {
    pid: child.pid,
    http,
    grpc: `127.0.0.1:${grpcPort}`,
    log: child.log,
    stop: (signal: Deno.Signal = "SIGTERM") => child.stop(signal),
  };
}

/**
 * Sums the samples of a metric (optionally only those whose labels include `labels`) on a node.
 * Throws when the node does not export the metric at all (no `# TYPE` line for it, so a renamed or dropped
 * metric fails the test instead of reading 0), or when a label name is on none of its samples. A family
 * without the asked label values yet (a labelled series appears with its first count) reads 0.
 */
export async function metricValue(
  http: string,
  name: string,
  labels: Record<string, string> = {},
  client?: Deno.HttpClient,
): Promise<number> {
  const text = await (await fetch(`${http}/metrics`, { client })).text();
  const family = name.replace(/_(count|sum|bucket)$/, "");
  const types = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
  if (!types.has(name) && !types.has(family)) {
    throw new MissingMetricError(`${http}/metrics has no metric ${name}`);
  }
  let sum = 0;
  const labelNames = new Set<string>();
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const lbl = m[2] ?? "";
    for (const l of lbl.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) labelNames.add(l[1]);
    if (Object.entries(labels).every(([k, v]) => lbl.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  const unknown = Object.keys(labels).filter((k) => !labelNames.has(k));
  if (labelNames.size > 0 && unknown.length > 0) {
    throw new MissingMetricError(`${http}/metrics: ${name} has no label ${unknown.join(", ")}`);
  }
  return sum;
}

/** A metric or label set that a node's /metrics does not show. */
export class MissingMetricError extends Error {
  override name = "MissingMetricError";
}

/**
 * Sums a metric over several nodes. A node without a sample counts 0 (a labelled series appears with its
 * first observation, and some nodes may have made none), but when no node has one the metric is missing
 * and this throws, as {@linkcode metricValue} does.
 */
export async function metricSum(
  https: string[],
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  let sum = 0;
  let found = false;
  for (const http of https) {
    try {
      sum += await metricValue(http, name, labels);
      found = true;
    } catch (e) {
      if (!(e instanceof MissingMetricError)) throw e;
    }
  }
  if (!found) throw new MissingMetricError(`no node has a sample of ${name}${JSON.stringify(labels)}`);
  return sum;
}
