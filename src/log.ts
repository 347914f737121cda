/**
 * One-line structured logs on stderr: `<time> <level> <message> key=value ...`, so that the cluster
 * launcher can prefix them and operators can grep them.
 * @module
 */

/** Severity of a log line. */
export type Level = "debug" | "info" | "warn" | "error";

const order: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };
let threshold: Level = "info";
const encoder = new TextEncoder();

/** Sets the lowest level that is written. */
export function setLogLevel(level: Level): void {
  threshold = level;
}

function field(v: unknown): string {
  const s = v instanceof Error ? v.message : typeof v === "string" ? v : JSON.stringify(v);
  return /[\s"=]/.test(s) ? JSON.stringify(s) : s;
}

/**
 * Writes one log line.
 *
 * @param level Severity.
 * @param message What happened.
 * @param fields Context, written as key=value pairs.
 * @example
 * ```ts
 * log("info", "listening", { http: "127.0.0.1:2222" });
 * ```
 */
export function log(level: Level, message: string, fields: Record<string, unknown> = {}): void {
  if (order[level] < order[threshold]) return;
  let line = `${new Date().toISOString()} ${level.toUpperCase()} ${message}`;
  for (const [k, v] of Object.entries(fields)) line += ` ${k}=${field(v)}`;
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
}
