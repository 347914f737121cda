/**
 * Cache avalanche and penetration against a real MariaDB, one node:
 * (a) 10,000 keys loaded at once with `ttl_ms` 5000, then read continuously: SELECTs per second around
 *     their expiry, without jitter and with `ttl_jitter` 0.1 (the default), 0.5 and 0.9;
 * (b) 20,000 distinct unknown keys, with and without the key filter: how many reach MariaDB.
 * SELECTs are MariaDB's own `Com_select` counter, sampled every 250 ms.
 * @module
 */
import { type MariaDb, startMariaDb } from "../../tests/_mariadb.ts";
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
const CONCURRENCY = 64;
/** How long keys are read after they were loaded: past every expiry of the first cycle and into the next. */
const READ_MS = 12_000;
const SAMPLE_MS = 250;
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

/** GETs `keys` with CONCURRENCY in flight, round and round until `untilMs` (or once if 0); counts statuses. */
async function read(node: NodeProcess, keys: string[], untilMs: number, statuses: Map<number, number>) {
  let next = 0;
  const once = untilMs === 0;
  const worker = async () => {
    while (once ? next < keys.length : performance.now() < untilMs) {
      const key = keys[next++ % keys.length];
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
  peak: number;
  peakAt: number;
  total: number;
  requests: number;
  errors: number;
}

async function avalanche(db: MariaDb, dir: string, jitter: number): Promise<AvalancheRun> {
  const node = await startNodeProcess({
    httpPort: freePort(),
    db: db.url,
    args: ["--config", await config(dir, `jitter-${jitter}`, jitter, true), "--log-level", "warn"],
  });
  try {
    const statuses = new Map<number, number>();
    const t0 = performance.now();
    await read(node, ids, 0, statuses);
    const loadSeconds = (performance.now() - t0) / 1000;
    // Sample Com_select while reading continuously; per-second rates from 1-second windows.
    const samples: [number, number][] = [[performance.now(), await selects(db)]];
    let reading = true;
    const sampler = (async () => {
      while (reading) {
        await new Promise((r) => setTimeout(r, SAMPLE_MS));
        samples.push([performance.now(), await selects(db)]);
      }
    })();
    await read(node, ids, performance.now() + READ_MS, statuses);
    reading = false;
    await sampler;
    const per = Math.round(1000 / SAMPLE_MS);
    let peak = 0;
    let peakAt = 0;
    for (let i = per; i < samples.length; i++) {
      const rate = (samples[i][1] - samples[i - per][1]) * 1000 / (samples[i][0] - samples[i - per][0]);
      if (rate > peak) [peak, peakAt] = [rate, (samples[i][0] - t0) / 1000];
    }
    const requests = [...statuses.values()].reduce((a, b) => a + b, 0);
    return {
      jitter,
      loadSeconds,
      peak,
      peakAt,
      total: samples[samples.length - 1][1] - samples[0][1],
      requests,
      errors: requests - (statuses.get(200) ?? 0),
    };
  } finally {
    await node.stop();
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
    await read(node, unknown, 0, statuses);
    const reached = (await selects(db)) - before;
    return { filter, reached, notFound: statuses.get(404) ?? 0, other: UNKNOWN - (statuses.get(404) ?? 0) };
  } finally {
    await node.stop();
  }
}

async function main(): Promise<number> {
  await printHeader("avalanche");
  const db = await startMariaDb();
  const dir = await Deno.makeTempDir({ prefix: "distcache-bench-avalanche-" });
  try {
    // A first node creates and seeds the schema; then the benchmark's rows are added.
    const first = await startNodeProcess({ httpPort: freePort(), db: db.url });
    await first.stop();
    await seed(db);

    const runs: AvalancheRun[] = [];
    for (const jitter of JITTERS) runs.push(await avalanche(db, dir, jitter));
    const base = runs[0].peak;
    console.log(
      `(a) ${KEYS} keys, ttl_ms ${TTL_MS}, loaded by ${CONCURRENCY} concurrent GETs, then read round and round ` +
        `for ${
          READ_MS / 1000
        } s; SELECTs per second over 1 s windows (Com_select). Load average ${await loadAverage()}.\n`,
    );
    printTable(
      [
        "ttl_jitter",
        "load took",
        "peak SELECT/s",
        "peak at",
        "peak vs no jitter",
        "SELECTs while reading",
        "requests",
        "non-200",
      ],
      runs.map((r) => [
        String(r.jitter),
        `${r.loadSeconds.toFixed(2)} s`,
        r.peak.toFixed(0),
        `${r.peakAt.toFixed(1)} s`,
        `${(r.peak / base).toFixed(2)}x`,
        String(r.total),
        String(r.requests),
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
