/**
 * Replays a gzip access trace (one key per line) through a cache policy at a fixed capacity in entries
 * and prints one JSON line with its hit ratio, to compare policies on real access patterns. The policy
 * `opt` is Belady's offline optimum, the ceiling for the others. A file that is not gzip, or is damaged,
 * exits with status 2 and a message, like a bad flag.
 *
 * Usage: `deno task hitratio --trace <file.gz> --capacity <entries> --policy <name>`
 * @module
 */
import { createCache, policies } from "../src/cache/policies.ts";
import { beladyHits } from "./_belady.ts";

/** What a trace file holds, for messages and docs. */
export const TRACE_FORMAT =
  "a trace is a gzip-compressed text file of one key per line (any text without a newline); blank lines " +
  "and lines of * are skipped";

/** The name of Belady's optimum, replayed offline since it must see the whole trace first. */
export const OPT = "opt";

/** What to replay, from the command line. */
export interface HitRatioFlags {
  /** Path of the gzip trace. */
  trace: string;
  /** Cache capacity in entries. */
  capacity: number;
  /** Policy name, a key of `policies` or "opt". */
  policy: string;
}

/** The outcome of one replay; `hitRatio` is hits / requests, cold misses included. */
export interface HitRatioResult {
  /** Policy replayed. */
  policy: string;
  /** Capacity in entries. */
  capacity: number;
  /** Requests in the trace. */
  requests: number;
  /** Requests that found their key cached. */
  hits: number;
  /** hits / requests, 0 for an empty trace. */
  hitRatio: number;
}

/** A command-line mistake; the message names the flag. */
export class UsageError extends Error {}

/**
 * Reads `--trace`, `--capacity` and `--policy` (as `--flag value` or `--flag=value`); all are required.
 *
 * @param args The command-line arguments.
 * @returns The flags.
 * @throws {UsageError} Naming the flag that is missing, unknown or has a bad value.
 * @example
 * ```ts
 * import { parseFlags } from "./hitratio.ts";
 * parseFlags(["--trace", "t.gz", "--capacity=100", "--policy", "lru"]).capacity; // 100
 * ```
 */
export function parseFlags(args: string[]): HitRatioFlags {
  const values = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg : arg.slice(0, eq);
    if (name !== "--trace" && name !== "--capacity" && name !== "--policy") {
      throw new UsageError(`unknown flag ${name}; expected --trace, --capacity and --policy`);
    }
    const value = eq === -1 ? args[++i] : arg.slice(eq + 1);
    if (value === undefined || value === "") throw new UsageError(`${name} needs a value`);
    values.set(name, value);
  }
  const trace = values.get("--trace");
  if (trace === undefined) throw new UsageError("missing --trace <file.gz>");
  const capacityText = values.get("--capacity");
  if (capacityText === undefined) throw new UsageError("missing --capacity <entries>");
  const capacity = Number(capacityText);
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new UsageError(`--capacity must be a positive integer, got "${capacityText}"`);
  }
  const policy = values.get("--policy");
  const names = [...Object.keys(policies), OPT].join(", ");
  if (policy === undefined) throw new UsageError(`missing --policy <name>; expected one of: ${names}`);
  if (policy !== OPT && !Object.hasOwn(policies, policy)) {
    throw new UsageError(`--policy "${policy}" is unknown; expected one of: ${names}`);
  }
  return { trace, capacity, policy };
}

/**
 * Yields the requests of a gzip trace: each line trimmed, skipping blank lines and `*` end markers.
 *
 * @param gzip The compressed trace.
 * @returns The keys in request order.
 * @example
 * ```ts
 * import { traceKeys } from "./hitratio.ts";
 * const gzip = new Blob(["1\n*\n\n 2 \n"]).stream().pipeThrough(new CompressionStream("gzip"));
 * await Array.fromAsync(traceKeys(gzip)); // ["1", "2"]
 * ```
 */
export async function* traceKeys(gzip: ReadableStream<Uint8Array<ArrayBuffer>>): AsyncGenerator<string> {
  const text = gzip.pipeThrough(new DecompressionStream("gzip")).pipeThrough(new TextDecoderStream());
  let rest = "";
  for await (const chunk of text) {
    const lines = (rest + chunk).split("\n");
    // The last piece may be a line cut in half by the chunk boundary.
    rest = lines.pop()!;
    for (const line of lines) {
      const key = line.trim();
      if (key !== "" && key !== "*") yield key;
    }
  }
  const key = rest.trim();
  if (key !== "" && key !== "*") yield key;
}

/**
 * Replays a gzip trace through a fresh cache of `policy` holding at most `capacity` entries, setting
 * each key that misses.
 *
 * @param gzip The compressed trace.
 * @param policy A key of `policies`, or "opt".
 * @param capacity Capacity in entries.
 * @returns Requests, hits and their ratio.
 * @example
 * ```ts
 * import { replay } from "./hitratio.ts";
 * const gzip = new Blob(["a\nb\na\n"]).stream().pipeThrough(new CompressionStream("gzip"));
 * (await replay(gzip, "lru", 2)).hits; // 1
 * ```
 */
export async function replay(
  gzip: ReadableStream<Uint8Array<ArrayBuffer>>,
  policy: string,
  capacity: number,
): Promise<HitRatioResult> {
  if (policy === OPT) return replayKeys(await Array.fromAsync(traceKeys(gzip)), policy, capacity);
  return replayKeys(traceKeys(gzip), policy, capacity);
}

/**
 * Replays requests already read through a fresh cache of `policy` holding at most `capacity` entries,
 * so a benchmark reads each trace once for all policies.
 *
 * @param keys The requests; an array when `policy` is "opt", which needs them all first.
 * @param policy A key of `policies`, or "opt".
 * @param capacity Capacity in entries.
 * @returns Requests, hits and their ratio.
 * @example
 * ```ts
 * import { replayKeys } from "./hitratio.ts";
 * (await replayKeys(["a", "b", "c", "a"], "opt", 2)).hits; // 1
 * ```
 */
export async function replayKeys(
  keys: readonly string[] | AsyncIterable<string>,
  policy: string,
  capacity: number,
): Promise<HitRatioResult> {
  let requests = 0;
  let hits = 0;
  if (policy === OPT) {
    if (!Array.isArray(keys)) throw new TypeError("opt needs the whole trace first: pass an array of keys");
    requests = keys.length;
    hits = beladyHits(keys, capacity);
  } else {
    // Bytes never bind: the trace measures a policy at a capacity in entries.
    const cache = createCache<true>(policy, {
      maxEntries: capacity,
      maxBytes: Number.MAX_SAFE_INTEGER,
      sizeOf: () => 1,
    });
    for await (const key of keys) {
      requests++;
      if (cache.get(key) !== undefined) hits++;
      else cache.set(key, true);
    }
  }
  return { policy, capacity, requests, hits, hitRatio: requests === 0 ? 0 : hits / requests };
}

if (import.meta.main) {
  let flags: HitRatioFlags;
  let file: Deno.FsFile;
  try {
    flags = parseFlags(Deno.args);
    file = await Deno.open(flags.trace).catch((err) => {
      throw new UsageError(`--trace cannot be read: ${flags.trace}: ${err.message}`);
    });
    const magic = new Uint8Array(2);
    const read = await file.read(magic);
    if (read !== 2 || magic[0] !== 0x1f || magic[1] !== 0x8b) {
      throw new UsageError(`--trace ${flags.trace} is not gzip-compressed; ${TRACE_FORMAT}`);
    }
    await file.seek(0, Deno.SeekMode.Start);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`hitratio: ${err.message}`);
    console.error("usage: deno task hitratio --trace <file.gz> --capacity <entries> --policy <name>");
    Deno.exit(2);
  }
  try {
    console.log(JSON.stringify(await replay(file.readable, flags.policy, flags.capacity)));
  } catch (err) {
    // A gzip header followed by damaged data fails inside the decompression stream.
    console.error(`hitratio: --trace ${flags.trace} is not a readable gzip trace: ${(err as Error).message}`);
    Deno.exit(2);
  }
}
