/**
 * HTTP hit cost. Part 1: `wrk` against one node on the shipped configuration (`GET
 * /_cache/metrics/CNF-001`, a main-cache hit) and, alternating with it, against a bare `Deno.serve` that
 * answers exactly the node's bytes and headers (content type and expiry), first with every process
 * floating over the cores, then with the servers pinned to one core and wrk to the other. Targets: node
 * req/s ≥ 0.9x bare and server CPU per hit ≤ 1.1x bare, both ways. While pinned, the two are also loaded
 * at the same time (side by side), which a busy machine disturbs less; that figure has no target, nor
 * have the side-by-side figures of a second bare server that reads the request's method and URL first
 * (Deno makes no `Request` for the plain one, whose handler takes no parameter).
 * Part 2: how a hit's cost grows with what is cached: 1, 10,000 and 1,000,000 keys PUT into a node, GETs
 * of random keys from a wrk Lua script (all hits), and the 100-key 80/20 mix of `deno task load`.
 * Target: 1M keys ≥ 0.85x the 1-key req/s. Also, side by side, two new nodes warmed alike: the shipped
 * `tinylfu` against `policy: lru`, target CPU per hot-key hit ≤ 1.05x; and the start task's V8 flags
 * against other semi-space sizes (2 MiB and V8's default 16 MiB), no target, to show how the start task's
 * size was chosen. Exits non-zero when a target is missed.
 * @module
 */
import {
  freePort,
  hasCommand,
  loadAverage,
  ms,
  paired,
  perSecond,
  pinning,
  printHeader,
  printTable,
  processCpuSeconds,
  rssOf,
  runCommand,
  startDenoHelper,
  startNodeProcess,
} from "./_util.ts";
import { metricValue, NODE_PERMISSIONS, type NodeProcessOptions } from "../../tests/_node.ts";

const KEY_PATH = "/_cache/metrics/CNF-001";
const WRK_ARGS = ["-t2", "-c64", "-d3s", "--latency"];
/** Node/bare pairs per placement; the machine's speed drifts, so each pair is compared within itself. */
const PAIRS = 9;
/** Rounds of the key-count scenarios, each round running every scenario once, in a rotating order. */
const ROUNDS = 5;
/** Rounds of the side-by-side measurement. */
const SIDE_ROUNDS = 5;
const TARGET_RPS = 0.9;
const TARGET_CPU = 1.1;
const TARGET_SCALE = 0.85;
/** The shipped policy's hit may cost at most this much more than LRU's. */
const TARGET_POLICY = 1.05;
const TOKEN = "bench";
const LUA = new URL("./_random_keys.lua", import.meta.url).pathname;

/** What one wrk run measured. */
interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  /** Non-2xx answers and socket errors, which would make the figure meaningless. */
  errors: number;
  /** Server CPU time (all threads) per request, in seconds. */
  cpuPerRequest: number;
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === "us" ? n / 1000 : unit === "s" ? n * 1000 : unit === "m" ? n * 60_000 : n;
}

function parseWrk(out: string): Omit<WrkResult, "cpuPerRequest"> & { requests: number } {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const requests = /(\d+) requests in/.exec(out);
  const p50 = /^\s+50%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(out);
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(out);
  if (!rps || !requests || !p50 || !p99) throw new Error(`cannot read wrk output:\n${out}`);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = Number(non2xx?.[1] ?? 0) +
    (socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0);
  return {
    rps: Number(rps[1]),
    requests: Number(requests[1]),
    p50: toMs(p50[1], p50[2]),
    p99: toMs(p99[1], p99[2]),
    errors,
  };
}

/**
 * Runs wrk against `url` (with `extra` arguments, e.g. a Lua script), pinned to the load core when
 * `pinned`, reading the server's CPU time before and after.
 */
async function wrk(url: string, pid: number, pinned: boolean, extra: string[] = []): Promise<WrkResult> {
  // wrk takes its options before the URL, and the script's arguments after it, behind "--".
  const split = extra.indexOf("--");
  const args = split === -1
    ? [...WRK_ARGS, ...extra, url]
    : [...WRK_ARGS, ...extra.slice(0, split), url, ...extra.slice(split)];
  const before = await processCpuSeconds(pid);
  const [command, commandArgs] = pinned ? await pinning.load("wrk", args) : ["wrk", args];
  const result = parseWrk(await runCommand(command, commandArgs, 30_000));
  const used = await processCpuSeconds(pid) - before;
  return { ...result, cpuPerRequest: used / result.requests };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

/** "0.93x (0.88-0.97)": the median and the range of some ratios. */
function spread(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `${median(values).toFixed(2)}x (${sorted[0].toFixed(2)}-${sorted[sorted.length - 1].toFixed(2)})`;
}

const micros = (seconds: number) => `${(seconds * 1e6).toFixed(1)} µs`;
const missed: string[] = [];

/** Records whether `value` meets a target; "met" or "not met" for the notes. */
function check(what: string, value: number, target: number, atLeast: boolean): string {
  const met = atLeast ? value >= target : value <= target;
  if (!met) missed.push(`${what}: ${value.toFixed(3)}x, target ${atLeast ? "≥" : "≤"} ${target}x`);
  return `target ${atLeast ? "≥" : "≤"} ${target}x: ${met ? "met" : "**not met**"}`;
}

/** Moves every thread of `pid` back onto all cores. */
async function unpin(pid: number): Promise<void> {
  if (!(await hasCommand("taskset"))) return;
  await runCommand(
    "taskset",
    ["-a", "-p", "-c", `0-${navigator.hardwareConcurrency - 1}`, String(pid)],
    5_000,
  );
}

/** The node's answer to a GET: its bytes and every header but `date`. */
async function answer(
  url: string,
): Promise<{ status: number; body: Uint8Array; headers: [string, string][] }> {
  const res = await fetch(url);
  const body = new Uint8Array(await res.arrayBuffer());
  const headers = [...res.headers].filter(([name]) => name !== "date");
  return { status: res.status, body, headers };
}

/** Part 1: the node against a bare server answering the same bytes and headers, floating then pinned. */
async function nodeAgainstBare(rows: string[][], notes: string[]): Promise<Uint8Array> {
  const node = await startNodeProcess();
  try {
    const nodeUrl = `${node.http}${KEY_PATH}`;
    const warm = await answer(nodeUrl);
    if (warm.status !== 200) throw new Error(`warm-up GET answered ${warm.status}`);
    const headers = Object.fromEntries(warm.headers.filter(([name]) => name !== "content-length"));
    if (!headers["x-distcache-expire-unix-ms"]) throw new Error("the node's hit carries no expiry header");
    const barePort = freePort();
    const bare = await startDenoHelper(
      "_bare_http.ts",
      [String(barePort), btoa(String.fromCharCode(...warm.body)), JSON.stringify(headers)],
      barePort,
    );
    const routingPort = freePort();
    const routing = await startDenoHelper(
      "_bare_http.ts",
      [String(routingPort), btoa(String.fromCharCode(...warm.body)), JSON.stringify(headers), "url"],
      routingPort,
    ).catch(async (e) => {
      await bare.stop();
      throw e;
    });
    try {
      const bareUrl = `http://127.0.0.1:${barePort}${KEY_PATH}`;
      const routingUrl = `http://127.0.0.1:${routingPort}${KEY_PATH}`;
      for (const url of [bareUrl, routingUrl]) {
        const same = await answer(url);
        if (
          same.body.length !== warm.body.length || same.body.some((b, i) => b !== warm.body[i]) ||
          JSON.stringify(same.headers) !== JSON.stringify(warm.headers)
        ) {
          throw new Error(
            `the bare server at ${url} does not answer the node's bytes and headers: ${
              JSON.stringify(same.headers)
            } vs ${JSON.stringify(warm.headers)}`,
          );
        }
      }
      for (const pinned of [false, true]) {
        if (pinned) {
          await pinning.server(node.pid);
          await pinning.server(bare.pid);
        }
        const runs = await paired(
          PAIRS,
          () => wrk(nodeUrl, node.pid, pinned),
          () => wrk(bareUrl, bare.pid, pinned),
        );
        const how = pinned ? "pinned" : "unpinned";
        const row = (name: string, r: WrkResult, all: WrkResult[]) => [
          `${name}, ${how}`,
          perSecond(r.rps),
          ms(r.p50),
          ms(r.p99),
          micros(r.cpuPerRequest),
          all.map((x) => perSecond(x.rps)).join(" / "),
        ];
        rows.push(
          row("distcache node, main-cache hit", runs.medianA, runs.a),
          row("bare `Deno.serve`, same bytes and headers", runs.medianB, runs.b),
        );
        const cpuRatios = runs.a.map((a, i) => a.cpuPerRequest / runs.b[i].cpuPerRequest);
        const rpsRatio = runs.ratio;
        const cpuRatio = median(cpuRatios);
        notes.push(
          `${how}: node/bare req/s ${spread(runs.ratios)} (${
            check(`${how} req/s`, rpsRatio, TARGET_RPS, true)
          }); ` +
            `server CPU per hit node/bare ${spread(cpuRatios)} (${
              check(`${how} CPU per hit`, cpuRatio, TARGET_CPU, false)
            }); median (min-max) of ${PAIRS} alternating pairs, each pair compared within itself. ` +
            `Pairs (req/s): ${runs.ratios.map((r) => r.toFixed(2)).join(", ")}; (CPU): ${
              cpuRatios.map((r) => r.toFixed(2)).join(", ")
            }.`,
        );
        const errors = [...runs.a, ...runs.b].reduce((sum, r) => sum + r.errors, 0);
        if (errors > 0) notes.push(`**${errors} non-2xx answers or socket errors during the ${how} runs.**`);
        if (pinned) {
          await pinning.server(routing.pid);
          const plain = await sideBySide(nodeUrl, node.pid, bareUrl, bare.pid);
          notes.push(
            `side by side (both servers loaded at once, pinned to the same core, \`wrk ${
              SIDE_ARGS.join(" ")
            }\` each): server CPU per hit node/bare ${spread(plain.ratios)} over ${SIDE_ROUNDS} rounds (${
              plain.ratios.map((r) => r.toFixed(2)).join(", ")
            }; node/bare each round: ${
              perRound(plain)
            }); no target, shown because the machine's noise hits both servers alike here.`,
          );
          const vsRouting = await sideBySide(nodeUrl, node.pid, routingUrl, routing.pid);
          const request = await sideBySide(routingUrl, routing.pid, bareUrl, bare.pid);
          notes.push(
            "Deno makes no `Request` for a handler declared without parameters, as the bare server's is: " +
              "a second bare server that takes the request and reads its method and URL (what any server " +
              "that routes pays), same bytes and headers, side by side the same way: " +
              `its CPU per hit against the bare server's ${spread(request.ratios)}, ` +
              `the node's against its ${spread(vsRouting.ratios)} (no target; the rounds: ${
                request.ratios.map((r) => r.toFixed(2)).join(", ")
              } and ${vsRouting.ratios.map((r) => r.toFixed(2)).join(", ")}; CPU per hit each round, ` +
              `URL-reading/bare ${perRound(request)} and node/URL-reading ${perRound(vsRouting)}).`,
          );
          const policy = await againstLru(warm.body);
          notes.push(
            "A new node on the shipped `tinylfu` against a new one that differs only by `policy: lru`, both " +
              `warmed by one round side by side, then hot key side by side the same way: CPU per hit tinylfu/lru ${
                spread(policy)
              } (${check("tinylfu/lru CPU per hit", median(policy), TARGET_POLICY, false)}; the rounds: ${
                policy.map((r) => r.toFixed(2)).join(", ")
              }).`,
          );
          for (const size of [2, 16]) {
            const young = await againstSemiSpace(warm.body, size);
            notes.push(
              `V8's young generation: a new node on the start task's flags (\`${SHIPPED_V8_FLAGS}\`) ` +
                `against a new one with semi-spaces of ${size} MiB${size === 16 ? " (V8's default)" : ""}, ` +
                `warmed alike, then hot key side by side the same way: CPU per hit ${
                  spread(young.ratios)
                } (no target; the rounds: ${
                  young.ratios.map((r) => r.toFixed(2)).join(", ")
                }); RSS after the rounds ${young.rss[0].toFixed(1)} MiB against ${
                  young.rss[1].toFixed(1)
                } MiB.`,
            );
          }
          for (const pid of [node.pid, bare.pid, routing.pid]) await unpin(pid);
        }
      }
      notes.push(
        `The bare server answers ${warm.body.length} bytes with the node's headers (${
          warm.headers.map(([k]) => k).join(", ")
        }), checked before the runs. wrk: \`wrk ${WRK_ARGS.join(" ")} <url>\`. Pinned: servers on core ` +
          `${
            navigator.hardwareConcurrency - 1
          }, wrk on the other (\`taskset\`); unpinned: every process floats. ` +
          "Server CPU is user + system time of the server process from /proc over each run.",
      );
    } finally {
      await bare.stop();
      await routing.stop();
    }
    return warm.body;
  } finally {
    await node.stop();
  }
}

/** The shipped config/config.yml, checked to set the default policy (`tinylfu`) these runs compare. */
async function shippedConfig(): Promise<string> {
  const shipped = await Deno.readTextFile(new URL("../../config/config.yml", import.meta.url));
  if (!/^\s+policy: tinylfu\b/m.test(shipped)) throw new Error("config/config.yml does not set tinylfu");
  return shipped;
}

/**
 * The shipped node against one on the shipped configuration but `policy: lru`, both started fresh and
 * warmed alike (see {@linkcode freshPair}).
 *
 * @returns The shipped node's CPU per hit over the LRU node's, one per round.
 */
async function againstLru(body: Uint8Array): Promise<number[]> {
  const dir = await Deno.makeTempDir({ prefix: "distcache-bench-" });
  try {
    const config = `${dir}/config.yml`;
    await Deno.writeTextFile(config, (await shippedConfig()).replace(/^(\s+policy:) tinylfu\b/m, "$1 lru"));
    return (await freshPair({}, { args: ["--config", config] }, body)).ratios;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Starts two nodes, checks both answer the hot key with `body`, pins both to the server core, loads both
 * once side by side to warm them (not counted), then side by side in `SIDE_ROUNDS` rounds. Both are new:
 * a node that has served for minutes differs from a new one (its heap, its compiled code), which would
 * count against the older one.
 *
 * @returns a's CPU per hit over b's, one per round, and both nodes' RSS afterwards in MiB.
 */
async function freshPair(
  a: NodeProcessOptions,
  b: NodeProcessOptions,
  body: Uint8Array,
): Promise<{ ratios: number[]; rss: [number, number] }> {
  const first = await startNodeProcess(a);
  try {
    const second = await startNodeProcess(b);
    try {
      const urls = [first, second].map((node) => `${node.http}${KEY_PATH}`);
      for (const url of urls) {
        const same = await answer(url);
        if (
          same.status !== 200 || same.body.length !== body.length || same.body.some((x, i) => x !== body[i])
        ) {
          throw new Error(`the node at ${url} answers ${same.status} with other bytes than the shipped node`);
        }
      }
      await pinning.server(first.pid);
      await pinning.server(second.pid);
      await sideBySide(urls[0], first.pid, urls[1], second.pid, 1);
      const { ratios } = await sideBySide(urls[0], first.pid, urls[1], second.pid);
      return { ratios, rss: [await rssMiB(first.pid), await rssMiB(second.pid)] };
    } finally {
      await second.stop();
    }
  } finally {
    await first.stop();
  }
}

/** The start task's V8 flags, as every node here runs with them. */
const SHIPPED_V8_FLAGS = NODE_PERMISSIONS.find((flag) => flag.startsWith("--v8-flags=")) ?? "";

/** Resident memory of `pid` in MiB. */
const rssMiB = async (pid: number) => await rssOf(pid) / 2 ** 20;

/**
 * A node on the start task's V8 flags against one that differs only in V8's semi-space size (the young
 * generation, where every request's garbage goes), both fresh and warmed alike ({@linkcode freshPair}):
 * how the choice of `--max-semi-space-size` trades a hit's CPU (a smaller young generation is collected
 * more often, and each collection walks the node's roots) for memory.
 *
 * @returns The shipped flags' CPU per hit over the other's, one per round, and both RSS afterwards.
 */
function againstSemiSpace(
  body: Uint8Array,
  mib: number,
): Promise<{ ratios: number[]; rss: [number, number] }> {
  if (!/--max-semi-space-size=\d+/.test(SHIPPED_V8_FLAGS)) {
    throw new Error(`the start task sets no --max-semi-space-size: ${SHIPPED_V8_FLAGS}`);
  }
  const v8Flags = SHIPPED_V8_FLAGS.replace(/--max-semi-space-size=\d+/, `--max-semi-space-size=${mib}`);
  return freshPair({}, { v8Flags }, body);
}

/** wrk's arguments for each of two servers loaded at once. */
const SIDE_ARGS = ["-t1", "-c32", "-d3s", "--latency"];

/**
 * Loads two servers at the same time, both pinned to the server core, one wrk each (`SIDE_ARGS`) on the
 * load core, in `rounds` rounds (`SIDE_ROUNDS`): whatever else runs on the machine then slows both alike,
 * so their CPU per request is compared under the same conditions.
 *
 * @returns The ratio a/b of the CPU per request, one per round.
 */
async function sideBySide(
  aUrl: string,
  aPid: number,
  bUrl: string,
  bPid: number,
  rounds = SIDE_ROUNDS,
): Promise<Side> {
  const side: Side = { ratios: [], a: [], b: [] };
  for (let round = 0; round < rounds; round++) {
    const before = [await processCpuSeconds(aPid), await processCpuSeconds(bPid)];
    const [a, b] = await Promise.all(
      [aUrl, bUrl].map(async (url) =>
        parseWrk(await runCommand(...await pinning.load("wrk", [...SIDE_ARGS, url]), 30_000))
      ),
    );
    const aCpu = (await processCpuSeconds(aPid) - before[0]) / a.requests;
    const bCpu = (await processCpuSeconds(bPid) - before[1]) / b.requests;
    side.ratios.push(aCpu / bCpu);
    side.a.push(aCpu);
    side.b.push(bCpu);
  }
  return side;
}

/** What {@linkcode sideBySide} measured: a/b of the CPU per request, and each side's, one per round. */
interface Side {
  ratios: number[];
  a: number[];
  b: number[];
}

/** Each round's CPU per hit of both sides, "17.2/14.1 µs": the machine's speed wanders between rounds. */
function perRound(side: Side): string {
  return side.a.map((a, i) => `${(a * 1e6).toFixed(1)}/${(side.b[i] * 1e6).toFixed(1)}`).join(", ") + " µs";
}

/**
 * PUTs `count` keys `k0`..`k<count-1>` holding `value` into `group`, over many keep-alive connections
 * written to directly (a fetch per key would take minutes for a million; the server closes a connection
 * that pipelines PUTs).
 */
async function fill(port: number, group: string, count: number, value: Uint8Array): Promise<void> {
  const connections = 64;
  const encoder = new TextEncoder();
  const fillOne = async (first: number) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      const buffer = new Uint8Array(4096);
      for (let i = first; i < count; i += connections) {
        const head = encoder.encode(
          `PUT /_cache/${group}/k${i} HTTP/1.1\r\nhost: bench\r\nauthorization: Bearer ${TOKEN}\r\n` +
            `x-distcache-ttl-ms: 3600000\r\ncontent-length: ${value.length}\r\n\r\n`,
        );
        const request = new Uint8Array(head.length + value.length);
        request.set(head);
        request.set(value, head.length);
        for (let off = 0; off < request.length;) off += await conn.write(request.subarray(off));
        // A 204 has no body: its answer ends with the blank line.
        let text = "";
        while (!text.endsWith("\r\n\r\n")) {
          const n = await conn.read(buffer);
          if (n === null) throw new Error("the node closed a connection while being filled");
          text += String.fromCharCode(...buffer.subarray(0, n));
        }
        if (!text.startsWith("HTTP/1.1 204")) throw new Error(`a PUT while filling answered ${text}`);
      }
    } finally {
      conn.close();
    }
  };
  await Promise.all(Array.from({ length: connections }, (_, c) => fillOne(c)));
}

/** Part 2: one node, hits on 1, 10k and 1M cached keys and the 80/20 mix, in rounds. */
async function hitCostByKeys(value: Uint8Array, rows: string[][], notes: string[]): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "distcache-bench-" });
  const config = `${dir}/config.yml`;
  const shipped = await shippedConfig();
  // The shipped configuration with the peer token set and a group large enough for a million keys.
  await Deno.writeTextFile(
    config,
    shipped.replace(/^(\s+token:) .*$/m, `$1 ${TOKEN}`).replace(
      /^groups:\n/m,
      "groups:\n  bench:\n    cache_bytes: 536870912\n    ttl_ms: 3600000\n",
    ),
  );
  const port = freePort();
  const node = await startNodeProcess({ httpPort: port, args: ["--config", config] });
  try {
    const million = 1_000_000;
    const started = performance.now();
    await fill(port, "bench", million, value);
    const filled = (performance.now() - started) / 1000;
    const items = await metricValue(node.http, "distcache_cache_items", { group: "bench", cache: "main" });
    if (items !== million) {
      throw new Error(`after filling, the bench group holds ${items} keys, not ${million}`);
    }
    await pinning.server(node.pid);
    const lua = (...args: string[]) => ["-s", LUA, "--", ...args];
    const scenarios = [
      { name: "1 key cached, the same key every time", keys: "1", args: lua("bench", "1") },
      { name: "10,000 keys cached, random keys", keys: "10,000", args: lua("bench", "10000") },
      { name: "1,000,000 keys cached, random keys", keys: "1,000,000", args: lua("bench", "1000000") },
      { name: "80/20 mix of CNF-001..100 (`metrics`, DB-backed, 60 s TTL)", keys: "100", args: lua("mix") },
    ];
    const runs: WrkResult[][] = scenarios.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < scenarios.length; k++) {
        const i = (k + round) % scenarios.length;
        runs[i].push(await wrk(node.http, node.pid, true, scenarios[i].args));
      }
    }
    const perRound = (i: number) => runs[i].map((r, round) => r.rps / runs[0][round].rps);
    scenarios.forEach((s, i) => {
      const byRate = [...runs[i]].sort((a, b) => a.rps - b.rps);
      const mid = byRate[byRate.length >> 1];
      rows.push([
        s.name,
        s.keys,
        perSecond(mid.rps),
        ms(mid.p50),
        ms(mid.p99),
        micros(median(runs[i].map((r) => r.cpuPerRequest))),
        i === 0 ? "-" : spread(perRound(i)),
        runs[i].map((r) => perSecond(r.rps)).join(" / "),
      ]);
    });
    const scale = median(perRound(2));
    const cpuPerRound = (i: number) =>
      runs[i].map((r, round) => r.cpuPerRequest / runs[0][round].cpuPerRequest);
    notes.push(
      `1,000,000 keys / 1 key (req/s): ${spread(perRound(2))}, ${
        check("1M keys / 1 key", scale, TARGET_SCALE, true)
      }; ` +
        `the median (min-max) over ${ROUNDS} rounds, each round running the four cases once in a rotating order. ` +
        `Server CPU per hit against 1 key's, same rounds: 10,000 keys ${spread(cpuPerRound(1))}, ` +
        `1,000,000 keys ${spread(cpuPerRound(2))}, the mix ${spread(cpuPerRound(3))}.`,
    );
    const errors = runs.flat().reduce((sum, r) => sum + r.errors, 0);
    notes.push(
      errors === 0
        ? "Every GET answered 200 (wrk counted no non-2xx answer); the bench group has no source but what " +
          "was PUT, so its GETs were all hits. The mix's keys expire after 60 s and are loaded again."
        : `**${errors} non-2xx answers or socket errors during the key-count runs.**`,
    );
    notes.push(
      `The ${perSecond(million)} keys (\`k0\`..\`k999999\`, ${value.length}-byte values, 1 h TTL) were PUT ` +
        `over 64 connections in ${filled.toFixed(1)} s into group \`bench\` (512 MiB, the shipped ` +
        `policy), and the node reported ${
          perSecond(items)
        } entries in its main cache. Random keys come from ` +
        "`scripts/bench/_random_keys.lua` (every case uses the script, so wrk does the same work); the node " +
        "is pinned to one core and wrk to the other.",
    );
  } finally {
    await node.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

await printHeader("http");
const loadAtStart = await loadAverage();
if (!(await hasCommand("wrk"))) {
  console.error("wrk is not installed (`scripts/setup.sh` installs it)");
  Deno.exit(1);
}
const rows: string[][] = [];
const notes: string[] = [];
const value = await nodeAgainstBare(rows, notes);
printTable(["target", "req/s", "p50", "p99", "server CPU / req", "req/s of each run"], rows);
console.log();
for (const note of notes) console.log(`- ${note}`);

console.log("\n### Hit cost by keys cached\n");
const scaleRows: string[][] = [];
const scaleNotes: string[] = [];
await hitCostByKeys(value, scaleRows, scaleNotes);
printTable(
  ["case", "keys cached", "req/s", "p50", "p99", "server CPU / hit", "req/s vs 1 key", "req/s of each round"],
  scaleRows,
);
console.log();
for (const note of scaleNotes) console.log(`- ${note}`);
console.log(`- Load average (1 min) at start ${loadAtStart}, at end ${await loadAverage()}.`);
if (missed.length > 0) {
  console.error(`targets missed: ${missed.join("; ")}`);
  Deno.exitCode = 1;
}
