/**
 * Cache avalanche and penetration against a real MariaDB:
 * (a) 10,000 keys loaded within one second with `ttl_ms` 5000, then read continuously: SELECTs per second
 *     around their expiry, without jitter and with `ttl_jitter` 0.1 (the default), 0.5 and 0.9. The group
 *     runs in this process with the node's own getter, repository and load limit, so that the reader,
 *     which sweeps all keys every few milliseconds, is never what limits the SELECT rate;
 * (b) 20,000 distinct unknown keys sent to a node process over HTTP, with and without the key filter:
 *     how many reach MariaDB.
 * (c) the same set-up as (a) as a model without a database (scripts/bench/_expiry_model.ts): the busiest
 *     second of reloads that each way of spreading lifetimes allows at best, so a shortfall of (a) can be
 *     told from the floor of keys / ttl that no jitter passes. `--model` prints (c) alone.
 * SELECTs are MariaDB's own `Com_select` counter.
 * @module
 */
import { Group } from "../../src/cache/group.ts";
import { openRepository } from "../../src/cnf/repository.ts";
import { LoadLimit } from "../../src/load_limit.ts";
import { cnfGetter } from "../../src/node.ts";
import { type MariaDb, startMariaDb } from "../../tests/_mariadb.ts";
import { around, lengthen, peakReloads, shorten } from "./_expiry_model.ts";
import {
  freePort,
  loadAverage,
  type NodeProcess,
  printHeader,
  printTable,
  startNodeProcess,
} from "./_util.ts";

const KEYS = 10_000;
const TTL_MS = 5000;
/** Loads are issued evenly over this long: "10,000 keys loaded within one second". */
const LOAD_WINDOW_MS = 1000;
/** As the node's defaults: limits.max_concurrent_loads and database.timeout_ms. */
const MAX_LOADS = 32;
const DB_TIMEOUT_MS = 2000;
const CONCURRENCY = 64;
/** How long keys are read after they were loaded: past every expiry of the first cycle and into the next. */
const READ_MS = 12_000;
const UNKNOWN = 20_000;
const JITTERS = [0, 0.1, 0.5, 0.9];

const ids = Array.from({ length: KEYS }, (_, i) => `AV-${String(i).padStart(5, "0")}`);

async function selects(db: MariaDb): Promise<number> {
  return Number((await db.rootQuery("SHOW GLOBAL STATUS LIKE 'Com_select'"))[0].Value);
}

async function seed(db: MariaDb): Promise<void> {
  for (let at = 0; at < KEYS; at += 1000) {
    const rows = ids.slice(at, at + 1000).map((id) =>
      `('${id}', '2026-12-01 00:00:00', 'Avalanche', 1, 'ms', 'Normal')`
    );
    await db.rootQuery(
      "INSERT INTO distcache.cnf_metric (cnf_id, `timestamp`, metric_type, value, unit, status) VALUES " +
        rows.join(","),
    );
  }
}

async function config(dir: string, name: string, jitter: number, filter: boolean): Promise<string> {
  let text = await Deno.readTextFile(new URL("../../config/config.yml", import.meta.url));
  const edits: [RegExp, string][] = [
    [/^(\s*)ttl_ms:\s*\d+/m, `$1ttl_ms: ${TTL_MS}`],
    [/^(\s*)ttl_jitter:\s*[\d.]+/m, `$1ttl_jitter: ${jitter}`],
    // Refresh-ahead would reload read keys before they expire: off, so expiries alone drive the reloads.
    [/^(\s*)refresh_ahead_ms:\s*\d+/m, "$1refresh_ahead_ms: 0"],
    [/^(\s*)enabled:\s*(true|false)/m, `$1enabled: ${filter}`],
    // No rebuild during a run: its listing SELECTs would be counted as loads.
    [/^(\s*)refresh_ms:\s*\d+/m, "$1refresh_ms: 3600000"],
  ];
  for (const [pattern, replacement] of edits) {
    if (!pattern.test(text)) throw new Error(`config/config.yml: no line matches ${pattern}`);
    text = text.replace(pattern, replacement);
  }
  const path = `${dir}/${name}.yml`;
  await Deno.writeTextFile(path, text);
  return path;
}

/** GETs each of `keys` once with CONCURRENCY in flight; counts the statuses. */
async function read(node: NodeProcess, keys: string[], statuses: Map<number, number>) {
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const key = keys[next++];
      const res = await fetch(`${node.http}/_cache/metrics/${key}`);
      await res.body?.cancel();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

interface AvalancheRun {
  jitter: number;
  loadSeconds: number;
  /** Most reloads (getter calls for keys loaded before) started in any 1 s window. */
  peak: number;
  peakAt: number;
  reloads: number;
  selects: number;
  reads: number;
  /** Loads that failed (each once, however many readers waited on it). */
  errors: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function avalanche(db: MariaDb, jitter: number): Promise<AvalancheRun> {
  const repo = await openRepository(db.url, { timeoutMs: DB_TIMEOUT_MS });
  const source = cnfGetter(repo, new LoadLimit(MAX_LOADS, DB_TIMEOUT_MS));
  const loaded = new Set<string>();
  const reloadTimes: number[] = [];
  const group = new Group({
    name: "metrics",
    cacheBytes: 64 << 20,
    ttlMs: TTL_MS,
    ttlJitter: jitter,
    getter: (key) => {
      if (loaded.has(key)) reloadTimes.push(performance.now());
      loaded.add(key);
      return source(key);
    },
  });
  try {
    let errors = 0;
    let reads = 0;
    const inFlight = new Set<string>();
    const load = (id: string) => {
      inFlight.add(id);
      return group.load(id).catch(() => errors++).finally(() => inFlight.delete(id));
    };
    // Warm the connection pool, so the first loads do not wait on connecting.
    await Promise.all(Array.from({ length: 8 }, () => repo.get("AV-00000")));
    const selects0 = await selects(db);
    const t0 = performance.now();
    // Loads issued evenly over LOAD_WINDOW_MS, as a warm-up or a restart would make them.
    const loads: Promise<unknown>[] = [];
    for (let issued = 0; issued < KEYS;) {
      const due = Math.min(KEYS, Math.ceil((performance.now() - t0) / LOAD_WINDOW_MS * KEYS));
      for (; issued < due; issued++) loads.push(load(ids[issued]));
      await sleep(1);
    }
    await Promise.all(loads);
    const loadSeconds = (performance.now() - t0) / 1000;
    // Read every key round and round; a key found expired is reloaded once.
    const end = t0 + LOAD_WINDOW_MS + READ_MS;
    while (performance.now() < end) {
      for (const id of ids) {
        reads++;
        if (!inFlight.has(id) && group.getCached(id) === undefined) load(id);
      }
      await sleep(2);
    }
    while (inFlight.size > 0) await sleep(10);
    // The busiest 1 s window of reloads, sliding in 50 ms steps.
    let peak = 0;
    let peakAt = 0;
    for (let from = t0; from < end; from += 50) {
      let n = 0;
      for (const t of reloadTimes) if (t >= from && t < from + 1000) n++;
      if (n > peak) [peak, peakAt] = [n, (from - t0) / 1000];
    }
    const total = (await selects(db)) - selects0;
    return { jitter, loadSeconds, peak, peakAt, reloads: reloadTimes.length, selects: total, reads, errors };
  } finally {
    await repo.close();
  }
}

async function penetration(db: MariaDb, dir: string, filter: boolean) {
  const node = await startNodeProcess({
    httpPort: freePort(),
    db: db.url,
    args: ["--config", await config(dir, `filter-${filter}`, 0.1, filter), "--log-level", "warn"],
  });
  try {
    const unknown = Array.from({ length: UNKNOWN }, (_, i) => `NO-${String(i).padStart(6, "0")}`);
    const statuses = new Map<number, number>();
    const before = await selects(db);
    await read(node, unknown, statuses);
    const reached = (await selects(db)) - before;
    return { filter, reached, notFound: statuses.get(404) ?? 0, other: UNKNOWN - (statuses.get(404) ?? 0) };
  } finally {
    await node.stop();
  }
}

/** Part (c): the model's peak for each rule and jitter, against the model's own no-jitter peak. */
function model(): void {
  const rules = [["shorten (shipped)", shorten], ["around", around], ["lengthen", lengthen]] as const;
  const jitters = [0.1, 0.5, 0.9, 1];
  const peak = (rule: typeof shorten, jitter: number) =>
    peakReloads({
      keys: KEYS,
      ttlMs: TTL_MS,
      loadMs: LOAD_WINDOW_MS,
      untilMs: LOAD_WINDOW_MS + READ_MS,
      jitter,
      rule,
    });
  const base = peak(shorten, 0);
  console.log(
    `(c) Model of (a): ${KEYS} keys first loaded evenly over ${LOAD_WINDOW_MS} ms, each reloaded the moment it ` +
      `expires, until ${
        (LOAD_WINDOW_MS + READ_MS) / 1000
      } s; lifetimes ttl x (1 - j u) (shorten, as shipped), ` +
      `ttl x (1 + j (2u - 1)) (around) or ttl x (1 + j u) (lengthen), u uniform in [0, 1), seeded. Busiest 1 s ` +
      `of reloads against the no-jitter peak (${base}); keys / ttl is ${KEYS * 1000 / TTL_MS} per s, ` +
      `${(KEYS * 1000 / TTL_MS / base).toFixed(2)}x.\n`,
  );
  printTable(
    ["rule", ...jitters.map((j) => `j = ${j}`)],
    rules.map(([name, rule]) => [name, ...jitters.map((j) => `${(peak(rule, j) / base).toFixed(3)}x`)]),
  );
  console.log();
}

async function main(): Promise<number> {
  await printHeader("avalanche");
  model();
  if (Deno.args.includes("--model")) return 0;
  const db = await startMariaDb();
  const dir = await Deno.makeTempDir({ prefix: "distcache-bench-avalanche-" });
  try {
    // A first node creates and seeds the schema; then the benchmark's rows are added.
    const first = await startNodeProcess({ httpPort: freePort(), db: db.url });
    await first.stop();
    await seed(db);

    const runs: AvalancheRun[] = [];
    for (const jitter of JITTERS) runs.push(await avalanche(db, jitter));
    const base = runs[0].peak;
    console.log(
      `(a) ${KEYS} keys, ttl_ms ${TTL_MS}, loads issued evenly over ${LOAD_WINDOW_MS} ms, then every key read ` +
        `round and round until ${
          (LOAD_WINDOW_MS + READ_MS) / 1000
        } s; reloads (database loads of keys loaded ` +
        `before) in the busiest 1 s window; SELECTs from MariaDB's Com_select. Load average ${await loadAverage()}.\n`,
    );
    printTable(
      [
        "ttl_jitter",
        "loads done after",
        "peak reloads in 1 s",
        "window from",
        "peak vs no jitter",
        "peak vs keys / ttl",
        "reloads",
        "SELECTs",
        "errors",
      ],
      runs.map((r) => [
        String(r.jitter),
        `${r.loadSeconds.toFixed(2)} s`,
        String(r.peak),
        `${r.peakAt.toFixed(2)} s`,
        `${(r.peak / base).toFixed(2)}x`,
        `${(r.peak / (KEYS * 1000 / TTL_MS)).toFixed(2)}x`,
        String(r.reloads),
        String(r.selects),
        String(r.errors),
      ]),
    );

    const off = await penetration(db, dir, false);
    const on = await penetration(db, dir, true);
    console.log(`\n(b) ${UNKNOWN} distinct unknown keys, one GET each, ${CONCURRENCY} in flight.\n`);
    printTable(
      ["key filter", "SELECTs", "share of unknown keys", "404", "other"],
      [off, on].map((p) => [
        p.filter ? "on (false_positive_rate 0.01)" : "off",
        String(p.reached),
        `${(100 * p.reached / UNKNOWN).toFixed(2)}%`,
        String(p.notFound),
        String(p.other),
      ]),
    );

    const met = runs.filter((r) => r.jitter > 0 && r.peak <= base / 5 && r.errors === 0).map((r) => r.jitter);
    const guard = on.reached <= UNKNOWN / 100;
    console.log(
      `\nTargets: peak at most a fifth of the no-jitter peak with no errors: ${
        met.length ? `met with ttl_jitter ${met.join(", ")}` : "MISSED at every jitter"
      }; guard lets at most 1% through: ${guard ? "met" : "MISSED"} (${on.reached} of ${UNKNOWN}).`,
    );
    return met.length > 0 && guard ? 0 : 1;
  } finally {
    await db.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.exit(await main());
