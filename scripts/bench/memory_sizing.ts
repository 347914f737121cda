/**
 * A node's memory against its cache size, the basis of the Kubernetes memory request and limit: one node
 * process per case, its resident set (VmRSS) when idle, then after PUTs of 1.5 x cache_bytes of values
 * (so the cache is full and evicting), and its peak (VmHWM). Two cache sizes tell the part that grows
 * with cache_bytes from the part that does not (the runtime, the request buffers, the collector's slack).
 * Run with `deno task bench memory_sizing`; `deno task bench memory` measures fill and churn against Redis.
 * @module
 */
import { parse as parseYaml } from "yaml";
import { toConfig } from "../../src/config.ts";
import { printHeader, printTable, startNodeProcess } from "./_util.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const MIB = 1024 * 1024;
/** [cache_bytes, value size]: two cache sizes separate what grows with the cache from what does not. */
const CASES: [number, number][] = [[16 * MIB, 256], [16 * MIB, 4096], [64 * MIB, 1024], [64 * MIB, 4096]];
const CLIENTS = 16;
const TOKEN = "bench";
/** Each case stops after this long even if it has not stored all its values. */
const CASE_LIMIT_MS = 90_000;

async function memory(pid: number): Promise<{ rss: number; peak: number }> {
  // Deno lets only --allow-all read /proc; cat may.
  const out = await new Deno.Command("cat", { args: [`/proc/${pid}/status`], stdout: "piped" }).output();
  const status = new TextDecoder().decode(out.stdout);
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1]) * 1024;
  return { rss: kib("VmRSS"), peak: kib("VmHWM") };
}

async function fill(http: string, cacheBytes: number, valueBytes: number): Promise<number> {
  const body = new Uint8Array(valueBytes).fill(120);
  const total = Math.ceil(1.5 * cacheBytes / valueBytes);
  const deadline = performance.now() + CASE_LIMIT_MS;
  let next = 0;
  const client = async () => {
    while (next < total && performance.now() < deadline) {
      const res = await fetch(`${http}/_cache/metrics/bench-${next++}`, {
        method: "PUT",
        headers: { authorization: `Bearer ${TOKEN}` },
        body,
      });
      await res.body?.cancel();
      if (!res.ok) throw new Error(`PUT answered ${res.status}`);
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  return next;
}

await printHeader("memory_sizing");
const dir = `${ROOT}.bench`;
await Deno.mkdir(dir, { recursive: true });
const config = `${dir}/memory-config.yml`;
const rows: string[][] = [];
try {
  for (const [cacheBytes, size] of CASES) {
    const text = (await Deno.readTextFile(`${ROOT}config/config.yml`)).replace(
      /^(\s*cache_bytes:\s*)\d+/m,
      `$1${cacheBytes}`,
    );
    if (toConfig(parseYaml(text)).groups[0].cacheBytes !== cacheBytes) throw new Error("cache_bytes not set");
    await Deno.writeTextFile(config, text);
    const node = await startNodeProcess({ args: ["--config", config], env: { DISTCACHE_PEER_TOKEN: TOKEN } });
    try {
      const idle = await memory(node.pid);
      const stored = await fill(node.http, cacheBytes, size);
      const full = await memory(node.pid);
      rows.push([
        `${cacheBytes / MIB} MiB`,
        `${size} B`,
        String(stored),
        (idle.rss / MIB).toFixed(1),
        (full.rss / MIB).toFixed(1),
        (full.peak / MIB).toFixed(1),
        ((full.peak - idle.rss) / MIB).toFixed(1),
      ]);
    } finally {
      await node.stop();
    }
  }
} finally {
  await Deno.remove(config).catch(() => {});
}
console.log("Values PUT to one node until 1.5 x cache_bytes were stored; memory in MiB (VmRSS, VmHWM)\n");
printTable(["cache_bytes", "value", "PUTs", "idle RSS", "full RSS", "peak RSS", "peak - idle"], rows);
