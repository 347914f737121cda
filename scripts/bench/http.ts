/**
 * HTTP hit throughput: `wrk` against one node's `GET /_cache/metrics/CNF-001` (a main-cache hit) and,
 * in the same run, against a bare `Deno.serve` answering the same bytes and headers. Redis GET through
 * `redis-benchmark` is printed for context. Target: node ≥ 0.8x bare. A second node whose group uses
 * `policy: lru` is then measured in pairs against the first, to show what the default policy costs a hit.
 * @module
 */
import {
  cpuMicros,
  freePort,
  hasCommand,
  loadAverage,
  ms,
  nodeCpuSeconds,
  paired,
  perSecond,
  pinning,
  printHeader,
  printTable,
  processCpuSeconds,
  ratio,
  runCommand,
  startDenoHelper,
  startListening,
  startNodeProcess,
} from "./_util.ts";

const KEY_PATH = "/_cache/metrics/CNF-001";
const WRK_ARGS = ["-t2", "-c64", "-d3s", "--latency"];
/** Back-to-back node/bare pairs; the machine's speed drifts, so each pair is compared within itself. */
const PAIRS = 9;
const TARGET = 0.8;

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

/** Runs wrk against `url`, reading the server's CPU time before and after with `cpu`. */
async function wrk(url: string, cpu: () => Promise<number>): Promise<WrkResult> {
  const before = await cpu();
  const [command, args] = await pinning.load("wrk", [...WRK_ARGS, url]);
  const result = parseWrk(await runCommand(command, args, 30_000));
  const used = await cpu() - before;
  return { ...result, cpuPerRequest: used / result.requests };
}

/** Runs redis-benchmark GET against a private redis-server holding a value of `value`'s size. */
async function redisRow(value: string): Promise<string[]> {
  const port = freePort();
  const server = await startListening(
    "redis-server",
    ["--port", String(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
    port,
  );
  try {
    // Without -r, redis-benchmark GETs the literal key "key:__rand_int__".
    await pinning.server(server.pid);
    await runCommand("redis-cli", ["-p", String(port), "SET", "key:__rand_int__", value], 5_000);
    const out = await runCommand(
      ...await pinning.load(
        "redis-benchmark",
        ["-p", String(port), "-t", "get", "-c", "64", "-n", "200000", "-d", String(value.length), "-q"],
      ),
      30_000,
    );
    const rps = /GET:\s+([\d.]+) requests per second/.exec(out);
    const p50 = /p50=([\d.]+) msec/.exec(out);
    if (!rps) throw new Error(`cannot read redis-benchmark output: ${out}`);
    return [
      "redis-server GET (context, `redis-benchmark -c 64 -n 200000`)",
      perSecond(Number(rps[1])),
      p50 ? ms(Number(p50[1])) : "n/a",
      "not printed by -q",
      "n/a",
    ];
  } finally {
    await server.stop();
  }
}

/**
 * Runs wrk pairs against the default node and a second node whose group uses `policy: lru`, from a copy of
 * the shipped configuration in `data/` (the one directory a node may write, and inside what it may read).
 */
async function policyPairs(nodeUrl: string, nodeCpu: () => Promise<number>) {
  const shipped = await Deno.readTextFile(new URL("../../config/config.yml", import.meta.url));
  const lruConfig = shipped.replace(/^(\s+policy:) tinylfu\b/m, "$1 lru");
  if (lruConfig === shipped) throw new Error("config/config.yml does not set `policy: tinylfu`");
  await Deno.mkdir("data", { recursive: true });
  const path = `data/bench-http-lru-${Deno.pid}.yml`;
  await Deno.writeTextFile(path, lruConfig);
  const lruNode = await startNodeProcess({ args: ["--config", path] });
  try {
    const url = `${lruNode.http}${KEY_PATH}`;
    const warm = await fetch(url);
    await warm.body?.cancel();
    if (warm.status !== 200) throw new Error(`warm-up GET on the lru node answered ${warm.status}`);
    await pinning.server(lruNode.pid);
    return await paired(
      PAIRS,
      () => wrk(nodeUrl, nodeCpu),
      () => wrk(url, () => nodeCpuSeconds(lruNode.http)),
    );
  } finally {
    await lruNode.stop();
    await Deno.remove(path);
  }
}

await printHeader("http");
const loadAtStart = await loadAverage();
const haveWrk = await hasCommand("wrk");
const haveRedis = (await hasCommand("redis-server")) && (await hasCommand("redis-benchmark")) &&
  (await hasCommand("redis-cli"));

const node = await startNodeProcess();
const rows: string[][] = [];
const notes: string[] = [];
try {
  // Warm the key and take the exact bytes and headers the bare server will answer with.
  const warm = await fetch(`${node.http}${KEY_PATH}`);
  const body = new Uint8Array(await warm.arrayBuffer());
  if (warm.status !== 200) throw new Error(`warm-up GET answered ${warm.status}`);
  const headers: Record<string, string> = {};
  for (const name of ["content-type", "x-distcache-expire-unix-ms", "expires"]) {
    const v = warm.headers.get(name);
    if (v !== null) headers[name] = v;
  }
  const value = new TextDecoder().decode(body);

  if (!haveWrk) {
    notes.push("wrk is not installed (`scripts/setup.sh` installs it): the node and bare rows were skipped.");
  } else {
    const barePort = freePort();
    const bare = await startDenoHelper(
      "_bare_http.ts",
      [String(barePort), btoa(String.fromCharCode(...body)), JSON.stringify(headers)],
      barePort,
    );
    try {
      const check = await fetch(`http://127.0.0.1:${barePort}${KEY_PATH}`);
      const same = new Uint8Array(await check.arrayBuffer());
      if (same.length !== body.length || same.some((b, i) => b !== body[i])) {
        throw new Error("the bare server does not answer the node's bytes");
      }
      const nodeUrl = `${node.http}${KEY_PATH}`;
      const bareUrl = `http://127.0.0.1:${barePort}${KEY_PATH}`;
      await pinning.server(node.pid);
      await pinning.server(bare.pid);
      const nodeCpu = () => nodeCpuSeconds(node.http);
      const bareCpu = () => processCpuSeconds(bare.pid);
      const runs = await paired(PAIRS, () => wrk(nodeUrl, nodeCpu), () => wrk(bareUrl, bareCpu));
      const [nodeRuns, bareRuns, n, b] = [runs.a, runs.b, runs.medianA, runs.medianB];
      const row = (name: string, r: WrkResult, runs: WrkResult[]) => [
        name,
        perSecond(r.rps),
        ms(r.p50),
        ms(r.p99),
        cpuMicros(r.cpuPerRequest, 1),
        runs.map((x) => perSecond(x.rps)).join(" / "),
      ];
      rows.push(
        row("distcache node, main-cache hit", n, nodeRuns),
        row("bare `Deno.serve`, same bytes and headers", b, bareRuns),
      );
      notes.push(
        `Ratio node/bare (req/s): ${ratio(runs.ratio, TARGET)}, the median of ${PAIRS} ` +
          `back-to-back pairs (${runs.ratios.map((r) => r.toFixed(2)).join(", ")}).`,
      );
      notes.push(
        `Server CPU per request, node/bare: ${(n.cpuPerRequest / b.cpuPerRequest).toFixed(2)}x ` +
          "(user + system time of the server process over the median runs).",
      );
      const lru = await policyPairs(nodeUrl, nodeCpu);
      rows.push(row("distcache node with `policy: lru`, main-cache hit", lru.medianB, lru.b));
      notes.push(
        `Ratio node on its default policy (tinylfu) / node with \`policy: lru\` (req/s): ` +
          `${lru.ratio.toFixed(3)}x, the median of ${PAIRS} back-to-back pairs ` +
          `(${lru.ratios.map((r) => r.toFixed(2)).join(", ")}); the first node's runs are not in the table.`,
      );
      const errors = [...nodeRuns, ...bareRuns, ...lru.a, ...lru.b].reduce((sum, r) => sum + r.errors, 0);
      if (errors > 0) notes.push(`**${errors} non-2xx answers or socket errors during the wrk runs.**`);
    } finally {
      await bare.stop();
    }
  }

  if (!haveRedis) {
    notes.push("redis-server/redis-benchmark/redis-cli not installed: the redis row was skipped.");
  } else {
    rows.push([...(await redisRow(value)), "one run"]);
  }
  notes.push(
    `Value: ${body.length} bytes (\`GET ${KEY_PATH}\`). wrk: \`wrk ${WRK_ARGS.join(" ")} <url>\`, ` +
      `run in ${PAIRS} node/bare pairs; the table shows the median run of each ` +
      "(all runs in the last column). Servers (node, bare, redis-server) are pinned to one core and the " +
      "load generators (wrk, redis-benchmark) to the other with `taskset`, so they do not fight over a core.",
  );
} finally {
  await node.stop();
}

notes.push(`Load average (1 min) at start ${loadAtStart}, at end ${await loadAverage()}.`);
printTable(["target", "req/s", "p50", "p99", "server CPU / req", "req/s of each run"], rows);
console.log();
for (const note of notes) console.log(`- ${note}`);
