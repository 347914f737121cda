/**
 * Structured logs on stderr, one JSON object per line:
 * `{"time","level","node","event","fields"}`, so that the cluster launcher can prefix them and log
 * shippers and `jq` can read them without a parser of their own.
 * @module
 */

/** Severity of a log line. */
export type Level = "debug" | "info" | "warn" | "error";

/** The levels from most to least verbose, as `--log-level` and `log.level` accept them. */
export const LEVELS: readonly Level[] = ["debug", "info", "warn", "error"];

const order: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };
let threshold: Level = "info";
let node: string | null = null;
const encoder = new TextEncoder();

/** Sets the lowest level that is written. */
export function setLogLevel(level: Level): void {
  threshold = level;
}

/**
 * Names the node in every later line; set once, when the node knows its address. Lines written
 * before carry `"node": null`.
 */
export function setLogNode(id: string): void {
  node = id;
}

/** Errors lose their message under JSON.stringify and bigints throw, so both become strings. */
function plain(_key: string, v: unknown): unknown {
  if (v instanceof Error) return v.message;
  return typeof v === "bigint" ? String(v) : v;
}

/**
 * Writes one log line.
 *
 * @param level Severity.
 * @param event What happened, a short fixed phrase such as "node started", so lines can be grouped by it.
 * @param fields Context, written under `fields`.
 * @example
 * ```ts
 * log("info", "listening", { http: "127.0.0.1:2222" });
 * // {"time":"...","level":"info","node":null,"event":"listening","fields":{"http":"127.0.0.1:2222"}}
 * ```
 */
export function log(level: Level, event: string, fields: Record<string, unknown> = {}): void {
  if (order[level] < order[threshold]) return;
  const line = JSON.stringify({ time: new Date().toISOString(), level, node, event, fields }, plain);
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
}
