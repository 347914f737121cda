/**
 * `POST /_cache/<group>/_batch` with `{"keys": [...]}`: many keys in one request, answered as
 * `{"results": [{"key", "status", "value_base64"?}, ...]}` in the order asked.
 * @module
 */
import { Buffer } from "node:buffer";
import type { Group } from "../cache/group.ts";
import { STALE_HEADER } from "../protocol.ts";
import { type BatchLimits, type BatchOutcome, checkBatchKeys, readBatch } from "./batch.ts";

/** One key of a batch answer, as JSON. */
export interface HttpBatchResult {
  key: string;
  /** The status a single GET of the key would answer: 200, 400, 404 or 503. */
  status: number;
  /** The value's bytes in base64, with status 200. */
  value_base64?: string;
  /** The value's expiry in Unix epoch ms, with status 200 when it expires (as the single GET's expiry header). */
  expire_unix_ms?: number;
  /** Present (true) when the value answers past its expiry because its reload failed. */
  stale?: true;
  /** Why the key failed, with status 400 or 503. */
  error?: string;
}

/**
 * The most request bytes a batch within the limits can need: every key written with JSON escapes of
 * six characters per byte, plus the punctuation.
 */
export function batchBodyLimit(limits: BatchLimits): number {
  return limits.maxBatchKeys * (limits.maxKeyBytes * 6 + 4) + 1024;
}

/**
 * Answers a batch request whose body has been read.
 *
 * @param body The request body.
 * @param group The group named in the path.
 * @param limits The node's limits.
 * @param local The request was forwarded by a peer.
 * @returns 200 with the results, 400 for a malformed body, 413 beyond a limit.
 */
export async function batchResponse(
  body: Uint8Array,
  group: Group,
  limits: BatchLimits,
  local: boolean,
): Promise<Response> {
  let keys: string[];
  try {
    keys = parseKeys(body);
    checkBatchKeys(keys.length, limits);
  } catch (e) {
    return problem(e instanceof SyntaxError ? 400 : 413, (e as Error).message);
  }
  let outcomes: BatchOutcome[];
  try {
    outcomes = await readBatch(group, keys, limits, local);
  } catch (e) {
    return problem(413, (e as Error).message);
  }
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (outcomes.some((o) => o.kind === "value" && o.stale)) headers[STALE_HEADER] = "1";
  return new Response(JSON.stringify({ results: outcomes.map(toJson) }), { status: 200, headers });
}

function toJson(o: BatchOutcome): HttpBatchResult {
  switch (o.kind) {
    case "value": {
      const out: HttpBatchResult = {
        key: o.key,
        status: 200,
        value_base64: o.value.withBytes((bytes) =>
          Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
        )
          .toString("base64"),
      };
      if (o.value.expiresAt !== 0) out.expire_unix_ms = o.value.expiresAt;
      if (o.stale) out.stale = true;
      return out;
    }
    case "not_found":
      return { key: o.key, status: 404 };
    case "invalid":
      return { key: o.key, status: 400, error: o.error };
    case "unavailable":
      return { key: o.key, status: 503, error: o.error };
  }
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** The keys of a request body; a SyntaxError names what is wrong with it. */
function parseKeys(body: Uint8Array): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(decoder.decode(body));
  } catch (e) {
    throw new SyntaxError(`the body must be JSON {"keys": ["k1", ...]}: ${(e as Error).message}`);
  }
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (typeof doc !== "object" || doc === null || Array.isArray(doc) || !Array.isArray(keys)) {
    throw new SyntaxError(`the body must be a JSON object {"keys": ["k1", ...]}`);
  }
  const bad = keys.findIndex((k) => typeof k !== "string");
  if (bad !== -1) throw new SyntaxError(`keys[${bad}] must be a string (got ${JSON.stringify(keys[bad])})`);
  return keys as string[];
}

function problem(status: number, message: string): Response {
  return new Response(message + "\n", { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}
