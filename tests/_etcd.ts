/**
 * Starts a private single-member etcd for a test: a temporary data directory, free loopback ports and
 * fast elections, so it is ready in about 0.1 s. It can be killed and started again on the same data to
 * test outages. Also nodes that join through it with a short lease, and ways to watch their rings converge.
 * @module
 */
import { type NodeProcess, startNodeProcess } from "./_node.ts";
import { freePort, spawnWatched, type Watched } from "./_process.ts";

/** A running test etcd. */
export interface Etcd {
  /** `127.0.0.1:<client port>`, as `--etcd` takes it. */
  readonly endpoint: string;
  /** Everything the current server process wrote to stderr. */
  log(): string;
  /** Sends SIGKILL (an outage), keeping the data directory. */
  kill(): Promise<void>;
  /** Starts the server again on the same ports and data directory, once it has been killed. */
  restart(): Promise<void>;
  /** Stops the server and removes its data directory; safe to call twice. */
  stop(): Promise<void>;
}

/** Runs etcdctl against `endpoint` and returns its stdout; throws with its stderr when it fails. */
export async function etcdctl(endpoint: string, args: string[]): Promise<string> {
  const out = await new Deno.Command("etcdctl", {
    args: ["--endpoints", endpoint, "--command-timeout=2s", ...args],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(5000),
  }).output();
  if (!out.success) {
    throw new Error(`etcdctl ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/**
 * Starts etcd and waits until it answers a read.
 *
 * @returns The running server.
 * @example
 * ```ts
 * const etcd = await startEtcd();
 * try {
 *   await etcdctl(etcd.endpoint, ["put", "k", "v"]);
 * } finally {
 *   await etcd.stop();
 * }
 * ```
 */
export async function startEtcd(): Promise<Etcd> {
  const dir = await Deno.makeTempDir({ prefix: "distcache-etcd-" });
  const client = freePort();
  const peer = freePort();
  const endpoint = `127.0.0.1:${client}`;
  const args = [
    "--name=t",
    `--data-dir=${dir}/etcd`,
    `--listen-client-urls=http://${endpoint}`,
    `--advertise-client-urls=http://${endpoint}`,
    `--listen-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-cluster=t=http://127.0.0.1:${peer}`,
    "--heartbeat-interval=10",
    "--election-timeout=100",
    "--log-level=warn",
  ];
  let server: Watched | undefined;
  let lastLog = "";
  const launch = async () => {
    const child = spawnWatched("etcd", args);
    server = child;
    await child.waitUntil(
      async () => {
        await etcdctl(endpoint, ["get", "ready-probe"]);
        return true;
      },
      "answered a read",
      15_000,
    );
  };
  const halt = async (signal: Deno.Signal) => {
    const child = server;
    server = undefined;
    if (!child) return;
    await child.stop(signal, 5000);
    lastLog = child.log();
  };
  try {
    await launch();
  } catch (e) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  }
  return {
    endpoint,
    log: () => server?.log() ?? lastLog,
    kill: () => halt("SIGKILL"),
    async restart() {
      if (server) throw new Error("etcd is still running; kill() it before restart()");
      await launch();
    },
    async stop() {
      await halt("SIGTERM");
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** The lease TTL the tests use, short so a crash is noticed quickly. */
export const TEST_LEASE_TTL_S = 2;

/**
 * How long past what configuration allows an awaited event (a watch delivered, a ring updated) may take on
 * a loaded machine. Generous on purpose: the bound tells "happens" from "never", not how fast; the figures
 * are measured by `deno task bench membership`.
 */
export const EVENT_SLACK_MS = 10_000;

const CONFIG = new URL("../config/config.yml", import.meta.url);

/** Writes config/config.yml with `etcd.lease_ttl_s` set to `ttlS` into `dir` and returns its path. */
export async function leaseConfig(dir: string, ttlS = TEST_LEASE_TTL_S): Promise<string> {
  const text = await Deno.readTextFile(CONFIG);
  const changed = text.replace(/^(\s*lease_ttl_s:\s*)\d+/m, `$1${ttlS}`);
  if (changed === text) throw new Error("config/config.yml has no etcd.lease_ttl_s line to change");
  const path = `${dir}/config.yml`;
  await Deno.writeTextFile(path, changed);
  return path;
}

/** Starts `count` nodes that register in etcd at `endpoint` and share one SQLite file in `dir`. */
export function startEtcdNodes(
  endpoint: string,
  dir: string,
  config: string,
  count: number,
): Promise<NodeProcess[]> {
  return Promise.all(
    Array.from(
      { length: count },
      () => startNodeProcess({ db: `sqlite:${dir}/cnf.db`, args: ["--config", config, "--etcd", endpoint] }),
    ),
  );
}

/** The HTTP URLs on a node's ring, as its /healthz reports them. */
export async function ringOf(node: NodeProcess): Promise<string[]> {
  const res = await fetch(`${node.http}/healthz`, { signal: AbortSignal.timeout(1000) });
  return (await res.json()).members;
}

/** Whether every node's ring is exactly `expected` (HTTP URLs, any order). */
export async function ringsAre(nodes: NodeProcess[], expected: NodeProcess[]): Promise<boolean> {
  const want = expected.map((n) => n.http).sort().join(",");
  const rings = await Promise.all(nodes.map((n) => ringOf(n).catch(() => [])));
  return rings.every((r) => [...r].sort().join(",") === want);
}

/**
 * Polls `condition` every 10 ms until it holds and returns how long that took in milliseconds; throws
 * naming `what` after `timeoutMs`.
 */
export async function timeUntil(
  condition: () => Promise<boolean>,
  what: string,
  timeoutMs: number,
  from = performance.now(),
): Promise<number> {
  const deadline = from + timeoutMs;
  while (!(await condition().catch(() => false))) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - from;
}

/** Whether etcd at `endpoint` lists every node of `nodes` under GroupCache/. */
export async function allRegistered(endpoint: string, nodes: NodeProcess[]): Promise<boolean> {
  const keys = await etcdctl(endpoint, ["get", "--prefix", "--keys-only", "GroupCache/"]);
  return nodes.every((n) => keys.includes(`GroupCache/${n.grpc}\n`));
}

/**
 * GETs the seeded CNF keys round-robin through `nodes`, one at a time and `gapMs` apart, until stopped
 * or after `max` requests; `stop` reports how many were sent and the ones that did not answer 200 within
 * `timeoutMs` (default {@linkcode EVENT_SLACK_MS}: in tests only a hang fails).
 */
export function lightLoad(nodes: NodeProcess[], gapMs = 20, max = 3000, timeoutMs = EVENT_SLACK_MS) {
  let running = true;
  let requests = 0;
  const failures: string[] = [];
  const done = (async () => {
    for (let i = 0; running && i < max; i++) {
      const node = nodes[i % nodes.length];
      const key = `CNF-${String((i % 100) + 1).padStart(3, "0")}`;
      try {
        const res = await fetch(`${node.http}/_cache/metrics/${key}`, {
          signal: AbortSignal.timeout(timeoutMs),
        });
        await res.body?.cancel();
        if (res.status !== 200) failures.push(`${node.http} ${key} ${res.status}`);
      } catch (e) {
        failures.push(`${node.http} ${key} ${(e as Error).message}`);
      }
      requests++;
      await new Promise((r) => setTimeout(r, gapMs));
    }
  })();
  return {
    /** Requests sent so far. */
    sent: () => requests,
    async stop(): Promise<{ requests: number; failures: string[] }> {
      running = false;
      await done;
      return { requests, failures };
    },
  };
}
