/**
 * gRPC hit cost: `groupcachepb.GroupCache/Get` with 64 calls in flight from a separate load generator
 * (`_grpc_load.ts`), against one node (a main-cache hit) and, alternating with it, against a bare grpc-js
 * server answering the same bytes and expiry (`_bare_grpc.ts`). Targets: server CPU per call ≤ 1.15x
 * bare and calls/s ≥ 0.8x bare, as the median of the pairs; exits non-zero when one is missed.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { serviceClient } from "../../src/server/proto.ts";
import {
  cpuMicros,
  freePort,
  HELPER_PERMISSIONS,
  loadAverage,
  ms,
  paired,
  perSecond,
  pinning,
  printHeader,
  printTable,
  processCpuSeconds,
  ratio,
  runCommand,
  startDenoHelper,
  startNodeProcess,
} from "./_util.ts";

const SECONDS = 3;
/** Back-to-back node/bare pairs; the ratio is the median of the pairs' ratios. */
const PAIRS = 9;
const MAX_CALLS = 500_000;
const CONCURRENCY = 64;
const TARGET = 0.8;
const TARGET_CPU = 1.15;
const LOAD = new URL("./_grpc_load.ts", import.meta.url).pathname;

/** What one load-generator run measured. */
interface LoadResult {
  calls: number;
  errors: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  valueBytes: number;
  /** Server CPU time (all threads) per call, in seconds. */
  cpuPerCall: number;
}

async function load(address: string, cpu: () => Promise<number>): Promise<LoadResult> {
  const before = await cpu();
  const out = await runCommand(
    ...await pinning.load(Deno.execPath(), [
      "run",
      ...HELPER_PERMISSIONS,
      LOAD,
      address,
      "metrics",
      "CNF-001",
      String(SECONDS),
      String(MAX_CALLS),
      String(CONCURRENCY),
    ]),
    (SECONDS + 30) * 1000,
  );
  const used = await cpu() - before;
  const result = JSON.parse(out.trim().split("\n").at(-1)!) as Omit<LoadResult, "cpuPerCall">;
  return { ...result, cpuPerCall: used / result.calls };
}

/** One Get through a short-lived client: the value and expiry the bare server will answer with. */
function getOnce(address: string): Promise<{ value: Uint8Array; expire_unix_ms: number }> {
  const Client = serviceClient("groupcache.proto", "groupcachepb.GroupCache");
  const client = new Client(address, grpc.credentials.createInsecure());
  return new Promise<{ value: Uint8Array; expire_unix_ms: number }>((resolve, reject) => {
    (client as unknown as Record<string, (...a: unknown[]) => void>).Get(
      { group: "metrics", key: "CNF-001" },
      (err: Error | null, res: { value: Uint8Array; expire_unix_ms: number }) =>
        err ? reject(err) : resolve(res),
    );
  }).finally(() => client.close());
}

await printHeader("grpc");
const loadAtStart = await loadAverage();
const node = await startNodeProcess();
const rows: string[][] = [];
const notes: string[] = [];
try {
  const warm = await getOnce(node.grpc);
  const barePort = freePort();
  const bare = await startDenoHelper(
    "_bare_grpc.ts",
    [String(barePort), btoa(String.fromCharCode(...warm.value)), String(warm.expire_unix_ms)],
    barePort,
  );
  try {
    const bareAddress = `127.0.0.1:${barePort}`;
    const nodeCpu = () => processCpuSeconds(node.pid);
    const bareCpu = () => processCpuSeconds(bare.pid);
    await pinning.server(node.pid);
    await pinning.server(bare.pid);
    const runs = await paired(PAIRS, () => load(node.grpc, nodeCpu), () => load(bareAddress, bareCpu));
    for (const r of [...runs.a, ...runs.b]) {
      if (r.valueBytes !== warm.value.byteLength) {
        throw new Error(`a Get answered ${r.valueBytes} bytes, expected ${warm.value.byteLength}`);
      }
    }
    const [n, b] = [runs.medianA, runs.medianB];
    const row = (name: string, r: LoadResult, all: LoadResult[]) => [
      name,
      perSecond(r.rps),
      ms(r.p50),
      ms(r.p99),
      cpuMicros(r.cpuPerCall, 1),
      all.map((x) => perSecond(x.rps)).join(" / "),
    ];
    rows.push(
      row("distcache node, main-cache hit", n, runs.a),
      row("bare grpc-js server, same proto and bytes", b, runs.b),
    );
    notes.push(
      `Ratio node/bare (calls/s): ${ratio(runs.ratio, TARGET)}, the median of ${PAIRS} back-to-back pairs ` +
        `(${runs.ratios.map((r) => r.toFixed(2)).join(", ")}).`,
    );
    const cpuRatios = runs.a.map((a, i) => a.cpuPerCall / runs.b[i].cpuPerCall);
    const cpuRatio = [...cpuRatios].sort((x, y) => x - y)[cpuRatios.length >> 1];
    const cpuMet = cpuRatio <= TARGET_CPU;
    notes.push(
      `Server CPU per call, node/bare: ${cpuRatio.toFixed(2)}x (target ≤ ${TARGET_CPU}x: ` +
        `${cpuMet ? "met" : "**not met**"}), the median of the pairs (${
          cpuRatios.map((r) => r.toFixed(2)).join(", ")
        }); user + system time of each server process from /proc over each run.`,
    );
    if (!cpuMet || runs.ratio < TARGET) Deno.exitCode = 1;
    const errors = [...runs.a, ...runs.b].reduce((sum, r) => sum + r.errors, 0);
    if (errors > 0) notes.push(`**${errors} calls failed during the runs.**`);
    notes.push(
      `Value: ${warm.value.byteLength} bytes (\`Get{group:"metrics", key:"CNF-001"}\`). Load: ` +
        `\`_grpc_load.ts\`, one grpc-js channel, ${CONCURRENCY} calls in flight, ${SECONDS} s or ` +
        `${MAX_CALLS.toLocaleString("en-US")} calls, after 200 uncounted warm-up calls; run in ${PAIRS} ` +
        "node/bare pairs; the table shows the median run of each (all runs in the last column). Servers " +
        "are pinned to one core and the load generator to the other with `taskset`.",
    );
  } finally {
    await bare.stop();
  }
} finally {
  await node.stop();
}

notes.push(`Load average (1 min) at start ${loadAtStart}, at end ${await loadAverage()}.`);
printTable(["target", "calls/s", "p50", "p99", "server CPU / call", "calls/s of each run"], rows);
console.log();
for (const note of notes) console.log(`- ${note}`);
