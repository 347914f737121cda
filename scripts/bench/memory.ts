/**
 * Memory of a node against its `cache_bytes`, and against Redis holding the same entries. For each value
 * size (10 B, 100 B, 1 KiB, 64 KiB): a fresh node (the shipped configuration with `cache_bytes` set) is
 * filled by `wrk` PUTs of new keys until its main cache evicts (full), then churned for a fixed time with
 * more new keys, which replace old ones. The node's RSS (from /proc), its accounted bytes
 * (`distcache_cache_bytes`) and its V8 heap and external memory are sampled every second (`--trace`
 * prints each sample, with the heap's spaces and the process's resident memory by kind of mapping, to
 * tell what grows). Then `redis-server` (no persistence) is given the
 * same keys and values, as many as the node held, and its RSS is read the same way. Prints a markdown
 * table and writes a plot of RSS over time to docs/memory.svg (or the file `--plot` names).
 *
 * Run with `deno task bench memory` (defaults: `--cache-mib 256 --churn-seconds 60 --sizes
 * 10,100,1024,65536`); the churn may be made longer and the sizes fewer, e.g. `deno task bench memory
 * --churn-seconds 600 --sizes 100 --plot docs/memory_churn600.svg`; the plot's path is relative to the
 * repository, or absolute).
 * Every phase is bounded in time.
 * @module
 */
import { hasCommand, printHeader, printTable, rssOf, startNodeProcess } from "./_util.ts";
import { freePort, metricValue } from "../../tests/_node.ts";
import { spawnWatched } from "../../tests/_process.ts";

const args = parseFlags(Deno.args);
const CACHE_BYTES = args.cacheMib * 1024 * 1024;
/** A fill longer than this is reported as not full rather than waited for. */
const FILL_LIMIT_S = 600;
const WRK_CHUNK_S = 5;
const TOKEN = "distcache-dev-token";
const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

/** Where `--plot`'s file goes: a path relative to the repository, or an absolute one. */
function plotPath(plot: string): string {
  return plot.startsWith("/") ? plot : new URL(`../../${plot}`, import.meta.url).pathname;
}

/** The targets of the memory issue: RSS above the empty node within 1.3x cache_bytes, density vs Redis. */
const BOUND = 1.3;
const DENSITY_TARGET = 4.7e6;
const LEAK_TARGET = 0.1;

interface Sample {
  t: number;
  phase: "fill" | "churn" | "after";
  rssAbove: number;
  accounted: number;
  /** The runtime's own view: V8's heap (allocated) and its external memory (array buffers among it). */
  heap: number;
  external: number;
}

interface Row {
  size: number;
  entries: number;
  fillSeconds: number;
  full: boolean;
  emptyRss: number;
  fullRss: number;
  peakRss: number;
  afterRss: number;
  accounted: number;
  redisEmpty: number;
  redisFull: number;
  samples: Sample[];
}

function parseFlags(
  argv: string[],
): { cacheMib: number; churnSeconds: number; sizes: number[]; trace: boolean; plot: string } {
  const out = {
    cacheMib: 256,
    churnSeconds: 60,
    sizes: [10, 100, 1024, 65536],
    trace: false,
    plot: "docs/memory.svg",
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = Number(argv[i + 1]);
    if (flag === "--trace") {
      out.trace = true;
    } else if (flag === "--plot") {
      if (!/\.svg$/.test(argv[i + 1] ?? "")) {
        console.error(`--plot needs the path of an .svg file to write, got "${argv[i + 1]}"`);
        Deno.exit(2);
      }
      // Relative to the repository, or absolute; its folder must exist, checked now rather than after a
      // run that may take an hour.
      const plot = argv[++i];
      const path = plotPath(plot);
      try {
        if (!Deno.statSync(path.slice(0, path.lastIndexOf("/")) || "/").isDirectory) throw new Error();
      } catch {
        console.error(`--plot: the folder of "${plot}" does not exist`);
        Deno.exit(2);
      }
      out.plot = plot;
    } else if (flag === "--sizes") {
      out.sizes = (argv[i + 1] ?? "").split(",").map(Number);
      if (!out.sizes.every((n) => Number.isInteger(n) && n > 0 && n <= 1 << 20)) {
        console.error(`--sizes needs value sizes in bytes separated by commas, got "${argv[i + 1]}"`);
        Deno.exit(2);
      }
      i++;
    } else if (flag === "--cache-mib" || flag === "--churn-seconds") {
      if (!(Number.isInteger(value) && value > 0 && value <= 100_000)) {
        console.error(`${flag} needs a positive whole number, got "${argv[i + 1]}"`);
        Deno.exit(2);
      }
      if (flag === "--cache-mib") out.cacheMib = value;
      else out.churnSeconds = value;
      i++;
    } else {
      console.error(
        `unknown flag "${flag}"; expected --cache-mib <n>, --churn-seconds <n>, --sizes <n,...>, ` +
          `--plot <file.svg> or --trace`,
      );
      Deno.exit(2);
    }
  }
  return out;
}

/**
 * Resident memory of a process by kind of mapping (from /proc/<pid>/smaps, read by cat since Deno reads
 * /proc only with -A): the C heap, anonymous mappings of 32 MiB or more (large array buffers, V8's heap
 * reservations), smaller anonymous ones (malloc arenas, segments), and files.
 */
async function mappings(pid: number): Promise<string> {
  const out = await new Deno.Command("cat", { args: [`/proc/${pid}/smaps`], stdout: "piped" }).output();
  const sums = { brk: 0, large: 0, small: 0, files: 0 };
  let kind: keyof typeof sums = "small";
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    const region = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (region) {
      const size = parseInt(region[2], 16) - parseInt(region[1], 16);
      const name = region[3];
      kind = name === "[heap]"
        ? "brk"
        : name.startsWith("/")
        ? "files"
        : size >= 32 * MIB
        ? "large"
        : "small";
    } else if (line.startsWith("Rss:")) sums[kind] += Number(line.split(/\s+/)[1]) * 1024;
  }
  return `RSS in C heap ${mib(sums.brk)}, anonymous >= 32 MiB ${mib(sums.large)}, smaller anonymous ${
    mib(sums.small)
  }, files ${mib(sums.files)}`;
}

/** The wrk script: PUTs of new keys `<prefix><thread>-<n>`, each value `size` bytes. */
const LUA = `
local counter = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end
function init(args)
  prefix = args[1] .. id .. "-"
  start = tonumber(args[2])
  body = string.rep("v", tonumber(args[3]))
  headers = { ["Authorization"] = "Bearer ${TOKEN}", ["Content-Type"] = "application/octet-stream" }
end
function request()
  counter = counter + 1
  return wrk.format("PUT", "/_cache/metrics/" .. prefix .. (start + counter), headers, body)
end
`;

async function wrkPuts(
  script: string,
  http: string,
  prefix: string,
  start: number,
  size: number,
  seconds: number,
) {
  const out = await new Deno.Command("wrk", {
    args: ["-t1", "-c64", `-d${seconds}s`, "-s", script, http, "--", prefix, String(start), String(size)],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout((seconds + 30) * 1000),
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const m = /(\d+) requests in/.exec(text);
  if (!out.success || !m) throw new Error(`wrk failed: ${text}${new TextDecoder().decode(out.stderr)}`);
  if (/Non-2xx/.test(text)) throw new Error(`wrk PUTs were refused:\n${text}`);
  return Number(m[1]);
}

async function measureNode(size: number, script: string, configPath: string): Promise<Row> {
  const node = await startNodeProcess({ args: ["--config", configPath] });
  const samples: Sample[] = [];
  try {
    // Settle, then read the empty node's RSS.
    await new Promise((r) => setTimeout(r, 2000));
    const emptyRss = await rssOf(node.pid);
    const started = performance.now();
    let phase: Sample["phase"] = "fill";
    let sampling = true;
    const accounted = () => metricValue(node.http, "distcache_cache_bytes", { group: "metrics" });
    const evictions = () =>
      metricValue(node.http, "distcache_cache_evictions_total", {
        group: "metrics",
        cache: "main",
        reason: "evicted",
      });
    // The RSS of the first sample taken once the main cache had evicted: the first full fill, to within a
    // second, however far the fill's last chunk of PUTs ran past it.
    let firstFull: number | undefined;
    const sampler = (async () => {
      while (sampling) {
        const [rss, bytes, heap, external, evicted] = await Promise.all([
          rssOf(node.pid),
          accounted(),
          metricValue(node.http, "distcache_nodejs_heap_size_total_bytes"),
          metricValue(node.http, "distcache_nodejs_external_memory_bytes"),
          evictions(),
        ]);
        const sample = {
          t: (performance.now() - started) / 1000,
          phase,
          rssAbove: rss - emptyRss,
          accounted: bytes,
          heap,
          external,
        };
        samples.push(sample);
        if (evicted > 0 && firstFull === undefined) firstFull = sample.rssAbove;
        if (args.trace) {
          const text = await (await fetch(`${node.http}/metrics`)).text();
          const spaces = [
            ...text.matchAll(
              /^distcache_nodejs_heap_space_size_(total|used)_bytes\{space="(new|old|large_object)"\} (\S+)$/gm,
            ),
          ]
            .map((m) => `${m[2]} ${m[1]} ${mib(Number(m[3]))}`).join(", ");
          console.error(`${spaces}; ${await mappings(node.pid)}`);
          console.error(
            `${label(size)} ${sample.t.toFixed(0)} s ${phase}: RSS above empty ${
              mib(sample.rssAbove)
            } MiB, ` +
              `accounted ${mib(bytes)}, heap ${mib(heap)}, external ${mib(external)}`,
          );
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    let sent = 0;
    let full = false;
    while ((performance.now() - started) / 1000 < FILL_LIMIT_S) {
      sent += await wrkPuts(script, node.http, "k", sent, size, WRK_CHUNK_S);
      if (await evictions() > 0) {
        full = true;
        break;
      }
    }
    const fillSeconds = (performance.now() - started) / 1000;
    const entries = await metricValue(node.http, "distcache_cache_items", {
      group: "metrics",
      cache: "main",
    });
    const fullRss = firstFull ?? (await rssOf(node.pid)) - emptyRss;
    phase = "churn";
    await wrkPuts(script, node.http, "c", 0, size, args.churnSeconds);
    phase = "after";
    await new Promise((r) => setTimeout(r, 3000));
    sampling = false;
    await sampler;
    const afterRss = (await rssOf(node.pid)) - emptyRss;
    const peakRss = Math.max(...samples.map((s) => s.rssAbove), fullRss, afterRss);
    return {
      size,
      entries,
      fillSeconds,
      full,
      emptyRss,
      fullRss,
      peakRss,
      afterRss,
      accounted: await accounted(),
      redisEmpty: 0,
      redisFull: 0,
      samples,
    };
  } finally {
    await node.stop();
  }
}

/** Fills a fresh redis-server with `entries` keys named as the node's first fill names them, same values. */
async function measureRedis(row: Row): Promise<void> {
  const port = freePort();
  const child = spawnWatched("redis-server", [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
  ]);
  try {
    await child.waitUntil(async () => {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return true;
    }, "redis listening");
    await new Promise((r) => setTimeout(r, 500));
    row.redisEmpty = await rssOf(child.pid);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const encoder = new TextEncoder();
    const value = "v".repeat(row.size);
    const batch = 1000;
    const reply = new Uint8Array(64 * 1024);
    for (let from = 0; from < row.entries; from += batch) {
      const n = Math.min(batch, row.entries - from);
      let text = "";
      for (let i = 0; i < n; i++) {
        const key = `k1-${from + i + 1}`;
        text += `*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n${value}\r\n`;
      }
      const bytes = encoder.encode(text);
      for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
      // Each reply is "+OK\r\n".
      let got = 0;
      while (got < n * 5) {
        const r = await conn.read(reply);
        if (r === null) throw new Error("redis closed the connection");
        got += r;
      }
    }
    conn.close();
    await new Promise((r) => setTimeout(r, 500));
    row.redisFull = (await rssOf(child.pid)) - row.redisEmpty;
  } finally {
    await child.stop("SIGTERM", 3000);
  }
}

function svg(rows: Row[]): string {
  const width = 900, height = 420, left = 70, right = 160, top = 30, bottom = 50;
  const maxT = Math.max(1, ...rows.flatMap((r) => r.samples.map((s) => s.t)));
  const maxY = Math.max(BOUND * CACHE_BYTES, ...rows.flatMap((r) => r.samples.map((s) => s.rssAbove))) * 1.05;
  const x = (t: number) => Math.round((left + (t / maxT) * (width - left - right)) * 10) / 10;
  const y = (v: number) => Math.round((top + (1 - v / maxY) * (height - top - bottom)) * 10) / 10;
  const colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${left}" y="18">RSS above the empty node while filling and churning (cache_bytes ${args.cacheMib} MiB; churn ${args.churnSeconds} s)</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const v = (maxY / 5) * i;
    parts.push(
      `<line x1="${left}" x2="${width - right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${left - 8}" y="${y(v) + 4}" text-anchor="end">${(v / MIB).toFixed(0)} MiB</text>`,
    );
  }
  for (let i = 0; i <= 6; i++) {
    const t = (maxT / 6) * i;
    parts.push(`<text x="${x(t)}" y="${height - bottom + 18}" text-anchor="middle">${t.toFixed(0)} s</text>`);
  }
  parts.push(
    `<line x1="${left}" x2="${width - right}" y1="${y(BOUND * CACHE_BYTES)}" y2="${
      y(BOUND * CACHE_BYTES)
    }" stroke="black" stroke-dasharray="6 4"/>`,
    `<text x="${width - right + 6}" y="${y(BOUND * CACHE_BYTES) + 4}">1.3 × cache_bytes</text>`,
    `<line x1="${left}" x2="${width - right}" y1="${y(CACHE_BYTES)}" y2="${
      y(CACHE_BYTES)
    }" stroke="#888" stroke-dasharray="2 3"/>`,
    `<text x="${width - right + 6}" y="${y(CACHE_BYTES) + 4}">cache_bytes</text>`,
    `<text x="${(left + width - right) / 2}" y="${
      height - 12
    }" text-anchor="middle">seconds since the node started (fill, then churn)</text>`,
  );
  rows.forEach((row, i) => {
    const points = row.samples.map((s) => `${x(s.t)},${y(s.rssAbove)}`).join(" ");
    parts.push(
      `<polyline fill="none" stroke="${colors[i % colors.length]}" stroke-width="1.5" points="${points}"/>`,
      `<text x="${width - right + 6}" y="${top + 20 + 16 * i}" fill="${colors[i % colors.length]}">${
        label(row.size)
      } values</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

function label(size: number): string {
  return size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
}

const mib = (bytes: number) => (bytes / MIB).toFixed(1);

/** The V8 heap the node had allocated at its first full fill (the last fill sample) and at most. */
function heapOf(row: Row): string {
  const fill = row.samples.filter((s) => s.phase === "fill");
  const full = fill.length > 0 ? fill[fill.length - 1].heap : NaN;
  return `${mib(full)} / ${mib(Math.max(...row.samples.map((s) => s.heap)))}`;
}

if (!(await hasCommand("wrk")) || !(await hasCommand("redis-server"))) {
  console.error("bench memory needs wrk and redis-server on the PATH");
  Deno.exit(2);
}
await printHeader("memory");
await Deno.mkdir("data", { recursive: true });
const shipped = await Deno.readTextFile(new URL("../../config/config.yml", import.meta.url));
if (!/^\s+cache_bytes: \d+/m.test(shipped)) {
  throw new Error("config/config.yml sets no cache_bytes to replace");
}
// Values PUT without a TTL header get the group's ttl_ms; 0 keeps them until they are evicted, so the
// cache fills and churn replaces entries rather than letting them expire. Refresh-ahead needs a TTL: off.
const config = shipped.replace(/^(\s+cache_bytes:) \d+/m, `$1 ${CACHE_BYTES}`)
  .replace(/^(\s+ttl_ms:) \d+/m, "$1 0")
  .replace(/^(\s+refresh_ahead_ms:) \d+/m, "$1 0")
  // Millions of PUTs would each write an audit line at info.
  .replace(/^(\s+level:) info\b/m, "$1 warn");
const configPath = `data/bench-memory-${Deno.pid}.yml`;
const script = `data/bench-memory-${Deno.pid}.lua`;
await Deno.writeTextFile(configPath, config);
await Deno.writeTextFile(script, LUA);
const rows: Row[] = [];
try {
  for (const size of args.sizes) {
    const row = await measureNode(size, script, configPath);
    await measureRedis(row);
    rows.push(row);
    console.error(`${label(size)}: ${row.entries} entries, RSS above empty ${mib(row.fullRss)} MiB full`);
  }
} finally {
  await Deno.remove(configPath).catch(() => {});
  await Deno.remove(script).catch(() => {});
}

console.log(
  `cache_bytes = ${args.cacheMib} MiB (main cache ${mib(CACHE_BYTES * 0.875)} MiB), policy tinylfu, ` +
    `PUTs by wrk -t1 -c64 until the main cache evicts, then ${args.churnSeconds} s of churn (new keys). ` +
    `RSS from ps -o rss, minus the empty node's (or empty redis-server's), sampled every second; "full" is ` +
    `the first sample after the main cache first evicted. V8 heap from ` +
    `distcache_nodejs_heap_size_total_bytes. Redis: the same number ` +
    `of keys, same names and values, no persistence.\n`,
);
printTable(
  [
    "value",
    "entries (main full)",
    "accounted MiB",
    "RSS above empty, full (x cache_bytes)",
    "peak during fill+churn (x)",
    "after churn vs first full",
    "V8 heap, full / peak (MiB)",
    "node entries/GiB",
    "redis RSS above empty",
    "redis entries/GiB",
    "node/redis density",
  ],
  rows.map((r) => [
    label(r.size),
    `${r.entries.toLocaleString("en-US")}${r.full ? "" : " (not full)"}`,
    mib(r.accounted),
    `${mib(r.fullRss)} MiB (${(r.fullRss / CACHE_BYTES).toFixed(2)}x)`,
    `${mib(r.peakRss)} MiB (${(r.peakRss / CACHE_BYTES).toFixed(2)}x)`,
    `${((r.afterRss / r.fullRss - 1) * 100).toFixed(1)}%`,
    heapOf(r),
    `${(r.entries / (r.fullRss / GIB) / 1e6).toFixed(2)}M`,
    `${mib(r.redisFull)} MiB`,
    `${(r.entries / (r.redisFull / GIB) / 1e6).toFixed(2)}M`,
    `${((r.entries / r.fullRss) / (r.entries / r.redisFull)).toFixed(2)}x`,
  ]),
);
const bounded = rows.every((r) => r.peakRss <= BOUND * CACHE_BYTES);
const leak = rows.every((r) => r.afterRss <= r.fullRss * (1 + LEAK_TARGET));
const hundred = rows.find((r) => r.size === 100);
const density = hundred ? hundred.entries / (hundred.fullRss / GIB) : NaN;
console.log(
  `\nTargets: peak RSS above empty ≤ ${BOUND}x cache_bytes at every size: ${bounded ? "met" : "not met"}; ` +
    `after churn within ${LEAK_TARGET * 100}% of the first full fill: ${leak ? "met" : "not met"}; ` +
    `100 B density ≥ ${DENSITY_TARGET / 1e6}M entries/GiB: ${
      hundred === undefined
        ? "not measured (no 100 B run)"
        : `${(density / 1e6).toFixed(2)}M, ${density >= DENSITY_TARGET ? "met" : "not met"}`
    }. Fill times: ${rows.map((r) => `${label(r.size)} ${r.fillSeconds.toFixed(0)} s`).join(", ")}.`,
);
await Deno.writeTextFile(plotPath(args.plot), svg(rows));
console.log(`\nPlot: ${args.plot}`);
// Like the other benchmarks, a missed target (or a size whose cache never filled) is a failed run.
const missed = [
  ...(bounded ? [] : ["peak RSS"]),
  ...(leak ? [] : ["RSS after churn"]),
  ...(hundred === undefined || density >= DENSITY_TARGET ? [] : ["100 B density"]),
  ...rows.filter((r) => !r.full).map((r) => `${label(r.size)} never filled`),
];
if (missed.length > 0) {
  console.error(`targets missed: ${missed.join("; ")}`);
  Deno.exitCode = 1;
}
