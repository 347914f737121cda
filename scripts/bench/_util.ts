/**
 * Helpers shared by the process-level benchmarks (http, grpc, peer_hop): the markdown header, running
 * helper processes and external tools, and latency percentiles.
 * @module
 */

import { metricValue } from "../../tests/_node.ts";
import { spawnWatched } from "../../tests/_process.ts";

export { freePort, startNodeProcess } from "../../tests/_node.ts";
export type { NodeProcess } from "../../tests/_node.ts";

/** The first line of `deno --version`, e.g. "deno 2.8.3 (stable, release, x86_64-unknown-linux-gnu)". */
export async function denoVersion(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), { args: ["--version"], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split("\n")[0].trim();
}

/** Prints the lines every benchmark section starts with: how to reproduce it, when, and on what. */
export async function printHeader(name: string): Promise<void> {
  console.log(`Command: \`deno task bench ${name}\`  `);
  console.log(`Date: ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC  `);
  console.log(`Runtime: ${await denoVersion()}  `);
  console.log(`Machine: ${navigator.hardwareConcurrency} CPU cores (${Deno.build.os}/${Deno.build.arch})\n`);
}

/** Prints a markdown table. */
export function printTable(head: string[], rows: string[][]): void {
  console.log(`| ${head.join(" | ")} |`);
  console.log(`| ${head.map(() => "---").join(" | ")} |`);
  for (const row of rows) console.log(`| ${row.join(" | ")} |`);
}

/** Whether `command` is on the PATH. */
export async function hasCommand(command: string): Promise<boolean> {
  try {
    const out = await new Deno.Command("sh", {
      args: ["-c", `command -v "$0"`, command],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/** Runs a command to completion (killed after `timeoutMs`) and returns its stdout; throws on failure. */
export async function runCommand(command: string, args: string[], timeoutMs: number): Promise<string> {
  const out = await new Deno.Command(command, {
    args,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    const stderr = new TextDecoder().decode(out.stderr);
    throw new Error(`${command} ${args.join(" ")} exited with ${out.code}: ${stderr || stdout}`);
  }
  return stdout;
}

/** A helper process started by a benchmark. */
export interface HelperProcess {
  readonly pid: number;
  /** Stops the process (SIGTERM, then SIGKILL after 3 s) and waits for it. */
  stop(): Promise<void>;
}

/**
 * Spawns a long-running process and waits until `port` on 127.0.0.1 accepts connections.
 *
 * @param command The executable.
 * @param args Its arguments.
 * @param port The loopback port it will listen on.
 * @returns A handle to stop it.
 */
export async function startListening(command: string, args: string[], port: number): Promise<HelperProcess> {
  const child = spawnWatched(command, args);
  await child.waitUntil(async () => {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  }, `listening on ${port}`);
  return { pid: child.pid, stop: async () => void await child.stop("SIGTERM", 3000) };
}

/** The permissions a benchmark helper (a bare server or a load generator) runs with. */
export const HELPER_PERMISSIONS = ["--allow-net=127.0.0.1", "--allow-read", "--allow-env"];

/** Spawns `deno run <script> ...args` (a helper in this folder) and waits for `port`. */
export function startDenoHelper(script: string, args: string[], port: number): Promise<HelperProcess> {
  const path = new URL(script, import.meta.url).pathname;
  return startListening(Deno.execPath(), ["run", ...HELPER_PERMISSIONS, path, ...args], port);
}

/** The value at quantile `q` (0..1) of ascending `sorted`, by the nearest-rank method. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

/** Formats milliseconds for a table: "0.412 ms", "12.3 ms". */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  return value < 10 ? `${value.toFixed(3)} ms` : `${value.toFixed(1)} ms`;
}

/** Formats a rate with thousands separators: "41,234". */
export function perSecond(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "n/a";
}

/** Formats a ratio "0.87x" and whether it meets `target`. */
export function ratio(value: number, target: number): string {
  if (!Number.isFinite(value)) return "n/a";
  return `${value.toFixed(2)}x (target ≥ ${target}x: ${value >= target ? "met" : "not met"})`;
}

let clockTicks: number | undefined;

/**
 * CPU time (user + system, all threads) a process has used so far, in seconds, from /proc. Read with
 * `cat`: Deno lets only --allow-all read /proc/<pid>.
 */
export async function processCpuSeconds(pid: number): Promise<number> {
  clockTicks ??= Number((await runCommand("getconf", ["CLK_TCK"], 5_000)).trim()) || 100;
  const stat = await runCommand("cat", [`/proc/${pid}/stat`], 5_000);
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

/** Resident set size of a process, in bytes, as `ps` reads it from /proc (Deno reads /proc only with -A). */
export async function rssOf(pid: number): Promise<number> {
  const out = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)], stdout: "piped" })
    .output();
  const kib = Number(new TextDecoder().decode(out.stdout).trim());
  if (!out.success || !(kib > 0)) throw new Error(`ps found no RSS for process ${pid}`);
  return kib * 1024;
}

/** CPU time a node has used so far, in seconds, from its own `/metrics` (prom-client's process counter). */
export function nodeCpuSeconds(http: string): Promise<number> {
  return metricValue(http, "distcache_process_cpu_seconds_total");
}

/** The 1-minute load average, to show how busy the machine was (other work skews every figure). */
export async function loadAverage(): Promise<string> {
  try {
    return (await runCommand("cat", ["/proc/loadavg"], 5_000)).split(" ")[0];
  } catch {
    return "n/a";
  }
}

/** Formats CPU microseconds per request. */
export function cpuMicros(seconds: number, requests: number): string {
  return requests > 0 ? `${(seconds / requests * 1e6).toFixed(1)} µs` : "n/a";
}

/**
 * Where load generators and servers run: with `taskset` (util-linux), servers are pinned to the last
 * core and load generators to the others, so the two never fight over one core and runs repeat
 * closely; without it both float.
 */
export const pinning = {
  /** Pins every thread of a running process to the server core. */
  async server(pid: number): Promise<void> {
    if (!(await hasCommand("taskset"))) return;
    await runCommand(
      "taskset",
      ["-a", "-p", "-c", String(navigator.hardwareConcurrency - 1), String(pid)],
      5_000,
    );
  },
  /** The command line that runs a load generator on the remaining cores. */
  async load(command: string, args: string[]): Promise<[string, string[]]> {
    const cores = navigator.hardwareConcurrency;
    if (cores < 2 || !(await hasCommand("taskset"))) return [command, args];
    return ["taskset", ["-c", cores === 2 ? "0" : `0-${cores - 2}`, command, ...args]];
  },
};

/** The runs of two sides measured in back-to-back pairs, and the pairs' ratios. */
export interface Paired<T> {
  a: T[];
  b: T[];
  /** a/b of each pair, in run order. */
  ratios: number[];
  /** The run of each side with the median rate. */
  medianA: T;
  medianB: T;
  /** The median of the pairs' ratios. */
  ratio: number;
}

/**
 * Measures two sides in `pairs` back-to-back pairs, alternating which goes first. The machine's speed
 * drifts over a benchmark; comparing each pair within itself keeps a slow spell from favouring a side.
 */
export async function paired<T extends { rps: number }>(
  pairs: number,
  runA: () => Promise<T>,
  runB: () => Promise<T>,
): Promise<Paired<T>> {
  const a: T[] = [];
  const b: T[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < pairs; i++) {
    let x: T, y: T;
    if (i % 2 === 0) {
      x = await runA();
      y = await runB();
    } else {
      y = await runB();
      x = await runA();
    }
    a.push(x);
    b.push(y);
    ratios.push(x.rps / y.rps);
  }
  const median = <R>(values: R[], key: (v: R) => number) =>
    [...values].sort((p, q) => key(p) - key(q))[pairs >> 1];
  return {
    a,
    b,
    ratios,
    medianA: median(a, (r) => r.rps),
    medianB: median(b, (r) => r.rps),
    ratio: median(ratios, (r) => r),
  };
}
