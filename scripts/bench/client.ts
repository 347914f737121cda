/**
 * The client library's routing against the same load sent to random nodes: three nodes with static
 * peers and no hot cache, `deno task load`'s 80/20 mix over HTTP, in back-to-back pairs. Reports the
 * requests a node forwarded to the owner (target: 0 with the client while membership is stable),
 * latency and the nodes' CPU time per request.
 * @module
 */
import { runLoad } from "../load.ts";
import type { LoadSummary } from "../load.ts";
import {
  cpuMicros,
  freePort,
  loadAverage,
  ms,
  type NodeProcess,
  paired,
  perSecond,
  printHeader,
  printTable,
  processCpuSeconds,
  startNodeProcess,
} from "./_util.ts";

const PAIRS = 5;
const SECONDS_PER_RUN = 4;
const CLIENTS = 32;

interface Run extends LoadSummary {
  rps: number;
  cpuSeconds: number;
}

async function clusterCpu(nodes: NodeProcess[]): Promise<number> {
  return (await Promise.all(nodes.map((n) => processCpuSeconds(n.pid)))).reduce((a, b) => a + b, 0);
}

async function main(): Promise<number> {
  await printHeader("client");
  const dir = await Deno.makeTempDir({ prefix: "distcache-bench-client-" });
  const text = await Deno.readTextFile(new URL("../../config/config.yml", import.meta.url));
  const config = text.replace(/^(\s*hot_cache_fraction:\s*)[\d.]+/m, "$10");
  if (config === text) throw new Error("config/config.yml has no hot_cache_fraction line to change");
  await Deno.writeTextFile(`${dir}/config.yml`, config);
  const ports = [freePort(), freePort(), freePort()];
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const nodes = await Promise.all(ports.map((p, i) =>
    startNodeProcess({
      httpPort: p,
      peers: urls.filter((_, j) => j !== i),
      db: `sqlite:${dir}/cnf.db`,
      args: ["--config", `${dir}/config.yml`, "--log-level", "warn"],
    })
  ));
  try {
    const measure = (route: "owner" | "random") => async (): Promise<Run> => {
      const cpu0 = await clusterCpu(nodes);
      const s = await runLoad({
        nodes: urls,
        clients: CLIENTS,
        durationS: SECONDS_PER_RUN,
        protocol: "http",
        route,
      });
      const cpuSeconds = await clusterCpu(nodes) - cpu0;
      if (s.errors > 0) throw new Error(`${route}: ${s.errors} errors: ${JSON.stringify(s.errorKinds)}`);
      return { ...s, rps: s.qps, cpuSeconds };
    };
    // Warm every key on its owner, so both sides measure hits.
    await runLoad({ nodes: urls, clients: 8, count: 2000, protocol: "http", route: "owner" });
    const result = await paired(PAIRS, measure("owner"), measure("random"));
    const row = (name: string, runs: Run[]) => {
      const requests = runs.reduce((a, r) => a + r.requests, 0);
      const forwarded = runs.reduce((a, r) => a + r.cluster.forwarded, 0);
      const cpu = runs.reduce((a, r) => a + r.cpuSeconds, 0);
      const p50 = runs.map((r) => r.latencyMs.p50).sort((a, b) => a - b);
      const p99 = runs.map((r) => r.latencyMs.p99).sort((a, b) => a - b);
      const mid = runs.length >> 1;
      return {
        forwarded,
        cpuPerRequest: cpu / requests,
        cells: [
          name,
          String(requests),
          perSecond(runs.map((r) => r.rps).sort((a, b) => a - b)[mid]),
          `${forwarded} (${(100 * forwarded / requests).toFixed(1)}%)`,
          `${ms(p50[mid])} (${ms(p50[0])}-${ms(p50[p50.length - 1])})`,
          `${ms(p99[mid])} (${ms(p99[0])}-${ms(p99[p99.length - 1])})`,
          cpuMicros(cpu, requests),
        ],
      };
    };
    const owner = row("client library (to the owner)", result.a);
    const random = row("random node", result.b);
    console.log(
      `3 nodes (static peers, hot cache off, SQLite), ${CLIENTS} concurrent clients, 80/20 over CNF-001..100, ` +
        `${PAIRS} pairs of ${SECONDS_PER_RUN} s runs, load ${await loadAverage()}\n`,
    );
    printTable(
      [
        "route",
        "requests",
        "req/s (median run)",
        "owner fetches by nodes",
        "p50 (spread)",
        "p99 (spread)",
        "node CPU per request",
      ],
      [owner.cells, random.cells],
    );
    const cpuRatios = result.a.map((a, i) =>
      (a.cpuSeconds / a.requests) / (result.b[i].cpuSeconds / result.b[i].requests)
    ).sort((x, y) => x - y);
    console.log(
      `\nNode CPU per request, client / random, per pair: ${cpuRatios.map((r) => r.toFixed(2)).join(", ")} ` +
        `(median ${cpuRatios[PAIRS >> 1].toFixed(2)}x); req/s client / random per pair: ${
          result.ratios.map((r) => r.toFixed(2)).join(", ")
        }`,
    );
    const met = owner.forwarded === 0;
    console.log(
      `\nTarget: 0 requests forwarded with the client while membership is stable: ${met ? "met" : "MISSED"}`,
    );
    return met ? 0 : 1;
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.exit(await main());
