/**
 * A batch read as both front doors serve it: the request's size checked against the node's limits, the
 * keys read with `Group.getMany`, and one outcome per key as a single read of it would end.
 * @module
 */
import type { ByteView } from "../cache/byte_view.ts";
import type { Group } from "../cache/group.ts";
import { keyProblem } from "./validate.ts";

/** The limits a batch read is held to. */
export interface BatchLimits {
  /** Keys per batch (`limits.max_batch_keys`). */
  maxBatchKeys: number;
  /** Value bytes per answer (`limits.max_batch_bytes`), summed over the keys. */
  maxBatchBytes: number;
  /** Bytes per key (`limits.max_key_bytes`). */
  maxKeyBytes: number;
}

/** How one key of a batch ended. */
export type BatchOutcome =
  | { key: string; kind: "value"; value: ByteView; stale: boolean }
  | { key: string; kind: "not_found" }
  | { key: string; kind: "invalid"; error: string }
  | { key: string; kind: "unavailable"; error: string };

/** A batch refused as a whole because it exceeds a limit; the message names the limit. */
export class BatchLimitError extends Error {
  override name = "BatchLimitError";
}

/**
 * Refuses a batch of more keys than the limit, before anything is read.
 *
 * @throws {BatchLimitError} Naming `limits.max_batch_keys`.
 */
export function checkBatchKeys(count: number, limits: BatchLimits): void {
  if (count > limits.maxBatchKeys) {
    throw new BatchLimitError(
      `the batch asks for ${count} keys; limits.max_batch_keys allows ${limits.maxBatchKeys}`,
    );
  }
}

/**
 * Reads the keys of a batch through `group`, one outcome per key in the order asked.
 *
 * @param group The group.
 * @param keys The keys, already counted with {@linkcode checkBatchKeys}.
 * @param limits The node's limits.
 * @param local The batch was forwarded by a peer: load every key here. Its answer is held to the same
 * limits, so the forwarded header cannot be used to fetch more than a client may.
 * @returns The outcomes.
 * @throws {BatchLimitError} When the values add up to more than `limits.max_batch_bytes`.
 */
export async function readBatch(
  group: Group,
  keys: readonly string[],
  limits: BatchLimits,
  local: boolean,
): Promise<BatchOutcome[]> {
  checkBatchKeys(keys.length, limits);
  const problems = keys.map((key) => keyProblem(key, limits.maxKeyBytes));
  const valid = keys.filter((_, i) => problems[i] === undefined);
  const settled = await group.getMany(valid, { local });
  // An owner refuses its share of the keys when that share alone passes max_batch_bytes: then the whole
  // answer would too, so this batch is refused the same way rather than answered with 503s.
  for (const result of settled) {
    const why = result.status === "rejected" ? String((result.reason as Error)?.message ?? "") : "";
    if (why.includes("limits.max_batch_bytes")) {
      const at = why.indexOf("the answer would hold");
      throw new BatchLimitError(at === -1 ? why : why.slice(at));
    }
  }
  let at = 0;
  let bytes = 0;
  const outcomes = keys.map((key, i): BatchOutcome => {
    const problem = problems[i];
    if (problem !== undefined) return { key, kind: "invalid", error: problem };
    const result = settled[at++];
    if (result.status === "rejected") {
      return { key, kind: "unavailable", error: `unavailable: ${(result.reason as Error)?.message}` };
    }
    if (result.value === null) return { key, kind: "not_found" };
    bytes += result.value.byteLength;
    return { key, kind: "value", value: result.value, stale: group.isStale(result.value) };
  });
  if (bytes > limits.maxBatchBytes) {
    throw new BatchLimitError(
      `the answer would hold ${bytes} bytes of values; limits.max_batch_bytes allows ${limits.maxBatchBytes}` +
        `: ask for fewer keys`,
    );
  }
  return outcomes;
}
