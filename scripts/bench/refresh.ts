/**
 * Benchmark `refresh`: does refresh-ahead keep hot keys from ever waiting on the database? Three
 * three-node clusters run side by side over one MariaDB whose every row read takes 20 ms (the table is
 * put behind a view that calls SLEEP(0.02) per row): `ttl_ms` 2000 without refresh-ahead, the same with
 * `refresh_ahead_ms` 1000, and a pure-hit cluster whose values never expire. One client sends each cluster
 * the same 80/20 load (80% of requests for the ten hot CNFs) for 30 s, after every key was read once.
 *
 * Which requests waited on a database load is read from the values' expiry headers: expiry minus `ttl_ms`
 * is when a value's load ended. A value loaded in the foreground (by a get that found the key expired) was
 * loaded at or after the previous version's expiry; a refresh-ahead swaps the new version in before it.
 * A request waited on a load when it got a foreground-loaded version whose load ended after the request
 * started, and took at least the 20 ms a load takes. (A request that got a refreshed version it had not waited for is not counted; a version the
 * client never saw makes the next one look foreground-loaded, which can only count more waits.)
 * @module
 */
import { openRepository } from "../../src/cnf/repository.ts";
import { EXPIRE_HEADER } from "../../src/protocol.ts";
import { startMariaDb } from "../../tests/_mariadb.ts";
import {
  freePort,
  loadAverage,
  ms,
  type NodeProcess,
  printHeader,
  printTable,
  quantile,
  startNodeProcess,
} from "./_util.ts";

const DURATION_MS = 30_000;
const TTL_MS = 2000;
const REFRESH_AHEAD_MS = 1000;
/** What every row read of the database takes. */
const DB_DELAY_MS = 20;
/** Requests in flight per cluster. */
const CLIENTS = 6;
const HOT = Array.from({ length: 10 }, (_, i) => `CNF-${String(i + 1).padStart(3, "0")}`);
const COLD = Array.from({ length: 90 }, (_, i) => `CNF-${String(i + 11).padStart(3, "0")}`);

interface Cluster {
  name: string;
  /** ttl_ms of the cluster; 0 when values never expire. */
  ttlMs: number;
  nodes: NodeProcess[];
  /** Every answered request. */
  answers: Answer[];
  errors: number;
}

interface Answer {
  key: string;
  hot: boolean;
  /** Epoch ms when the request was sent. */
  started: number;
  /** Epoch ms when the value's load ended. */
  loadedAt: number;
  latencyMs: number;
}

async function startCluster(
  dir: string,
  db: string,
  name: string,
  group: string,
  ttlMs: number,
): Promise<Cluster> {
  const config = `${dir}/${name.replace(/\W+/g, "-")}.yml`;
  // Opening the repository counts the rows through the slow view: 100 x 20 ms.
  // The hot cache is off in all three, so each answers a non-owner's read with one peer hop and the
  // clusters differ only in how their values expire. No ttl jitter: a value's expiry minus ttl_ms must be
  // when its load ended.
  await Deno.writeTextFile(
    config,
    `database:\n  timeout_ms: 10000\ngroups:\n  metrics:\n    hot_cache_fraction: 0\n    ttl_jitter: 0\n${group}`,
  );
  const ports = [freePort(), freePort(), freePort()];
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const nodes = await Promise.all(
    ports.map((p, i) =>
      startNodeProcess({ httpPort: p, peers: urls.filter((_, j) => j !== i), db, args: ["--config", config] })
    ),
  );
  return { name, ttlMs, nodes, answers: [], errors: 0 };
}

/** Puts the table behind a view whose every row read sleeps 20 ms. */
async function slowDatabase(db: Awaited<ReturnType<typeof startMariaDb>>): Promise<void> {
  const repo = await openRepository(db.url); // creates and seeds the table
  await repo.close();
  await db.rootQuery("RENAME TABLE distcache.cnf_metric TO distcache.cnf_metric_rows");
  await db.rootQuery(
    "CREATE ALGORITHM=MERGE VIEW distcache.cnf_metric AS " +
      `SELECT * FROM distcache.cnf_metric_rows WHERE SLEEP(${DB_DELAY_MS / 1000}) = 0`,
  );
}

async function request(cluster: Cluster, key: string, hot: boolean): Promise<void> {
  const node = cluster.nodes[Math.floor(Math.random() * cluster.nodes.length)];
  const started = Date.now();
  const t0 = performance.now();
  const res = await fetch(`${node.http}/_cache/metrics/${key}`);
  await res.arrayBuffer();
  const latencyMs = performance.now() - t0;
  if (!res.ok) {
    cluster.errors++;
    return;
  }
  const loadedAt = Number(res.headers.get(EXPIRE_HEADER) ?? 0) - cluster.ttlMs;
  cluster.answers.push({ key, hot, started, loadedAt, latencyMs });
}

/** The requests of a cluster (all, or hot keys only) that waited on a foreground database load. */
function waits(c: Cluster, hotOnly: boolean): number {
  if (c.ttlMs === 0) return NaN;
  const versions = new Map<string, number[]>();
  for (const a of c.answers) {
    let seen = versions.get(a.key);
    if (!seen) versions.set(a.key, seen = []);
    seen.push(a.loadedAt);
  }
  const foreground = new Set<string>();
  for (const [key, seen] of versions) {
    const sorted = [...new Set(seen)].sort((a, b) => a - b);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i] >= sorted[i - 1] + c.ttlMs) foreground.add(`${key}@${sorted[i]}`);
    }
  }
  return c.answers.filter((a) =>
    (!hotOnly || a.hot) && a.loadedAt >= a.started && a.latencyMs >= DB_DELAY_MS &&
    foreground.has(`${a.key}@${a.loadedAt}`)
  ).length;
}

await printHeader("refresh");
const loadAtStart = await loadAverage();
const db = await startMariaDb();
const dir = await Deno.makeTempDir({ prefix: "distcache-bench-refresh-" });
const clusters: Cluster[] = [];
try {
  await slowDatabase(db);
  clusters.push(
    await startCluster(dir, db.url, "ttl 2 s", `    ttl_ms: ${TTL_MS}\n    refresh_ahead_ms: 0\n`, TTL_MS),
    await startCluster(
      dir,
      db.url,
      `ttl 2 s, refresh-ahead ${REFRESH_AHEAD_MS} ms`,
      `    ttl_ms: ${TTL_MS}\n    refresh_ahead_ms: ${REFRESH_AHEAD_MS}\n`,
      TTL_MS,
    ),
    await startCluster(
      dir,
      db.url,
      "pure hits (never expire)",
      "    ttl_ms: 0\n    refresh_ahead_ms: 0\n",
      0,
    ),
  );
  // Warm-up: every key loaded once in every cluster; its answers are the first versions seen.
  for (const c of clusters) await Promise.all([...HOT, ...COLD].map((key) => request(c, key, false)));
  for (const c of clusters) c.answers = c.answers.map((a) => ({ ...a, started: 0, hot: false }));
  const deadline = performance.now() + DURATION_MS;
  const worker = async (c: Cluster) => {
    while (performance.now() < deadline) {
      const hot = Math.random() < 0.8;
      const keys = hot ? HOT : COLD;
      await request(c, keys[Math.floor(Math.random() * keys.length)], hot);
    }
  };
  // Every cluster gets the same clients at the same time, so the machine's load falls on all alike.
  await Promise.all(clusters.flatMap((c) => Array.from({ length: CLIENTS }, () => worker(c))));
} finally {
  await Promise.all(clusters.flatMap((c) => c.nodes.map((n) => n.stop())));
  await db.stop();
  await Deno.remove(dir, { recursive: true });
}

const pureHit = clusters[2];
const sortedHot = (c: Cluster) =>
  c.answers.filter((a) => a.hot).map((a) => a.latencyMs).sort((a, b) => a - b);
const pureP99 = quantile(sortedHot(pureHit), 0.99);
printTable(
  [
    "cluster",
    "requests",
    "errors",
    "hot requests that waited on a DB load",
    "all requests that did",
    "hot p50",
    "hot p99",
    "hot max",
    "hot p99 / pure-hit p99",
  ],
  clusters.map((c) => {
    const s = sortedHot(c);
    return [
      c.name,
      String(c.answers.length + c.errors - 100),
      String(c.errors),
      c.ttlMs > 0 ? String(waits(c, true)) : "n/a",
      c.ttlMs > 0 ? String(waits(c, false)) : "n/a",
      ms(quantile(s, 0.5)),
      ms(quantile(s, 0.99)),
      ms(s.at(-1) ?? NaN),
      `${(quantile(s, 0.99) / pureP99).toFixed(2)}x`,
    ];
  }),
);
const refreshed = clusters[1];
const p99Ratio = quantile(sortedHot(refreshed), 0.99) / pureP99;
const refreshedWaits = waits(refreshed, true);
console.log(`
- Targets with refresh-ahead: 0 hot-key requests waiting on the database after warm-up (${refreshedWaits}: ${
  refreshedWaits === 0 ? "met" : "not met"
}); hot-key p99 within 1.5x of the pure-hit cluster's (${p99Ratio.toFixed(2)}x: ${
  p99Ratio <= 1.5 ? "met" : "not met"
}).
- Setup: MariaDB (\`tests/_mariadb.ts\`) with every row read taking 20 ms; three clusters of three nodes
  (static HTTP peers, hot cache off), each with ${CLIENTS} clients in this process for ${
  DURATION_MS / 1000
} s after a warm-up read of every key; 80% of requests for CNF-001..010, 20% for CNF-011..100, each to a
  random node of the cluster. Latencies are client-side, of hot keys only.
- Load average (1 min) at start ${loadAtStart}, at end ${await loadAverage()}.`);
