/**
 * The HTTP front door of a node, for `Deno.serve`: the peer protocol `/_cache/<group>/<key>`
 * (GET, PUT, DELETE), batch reads (`POST /_cache/<group>/_batch`), `/metrics`, `/healthz` and `/readyz`.
 * @module
 */
import { ByteView } from "../cache/byte_view.ts";
import type { Group } from "../cache/group.ts";
import type { NodeMetrics } from "../metrics.ts";
import {
  BATCH_SEGMENT,
  CACHE_PREFIX as PREFIX,
  EXPIRE_HEADER,
  FORWARDED_HEADER,
  STALE_HEADER,
  TTL_HEADER,
} from "../protocol.ts";
import { batchBodyLimit, batchResponse } from "./http_batch.ts";
import { statusResponse, type StatusRing } from "./status.ts";
import { audit, checkHttp, type Guard } from "../auth/guard.ts";
import { keyProblem, quote } from "./validate.ts";
import { bodyTaken } from "../garbage.ts";

/** What the handler needs from its node. */
export interface HttpDeps {
  groups: ReadonlyMap<string, Group>;
  /** Checks credentials: always on PUT and DELETE, on GET only when reads require a token. */
  guard: Guard;
  maxKeyBytes: number;
  maxValueBytes: number;
  /** Keys per batch read. */
  maxBatchKeys: number;
  /** Value bytes per batch answer. */
  maxBatchBytes: number;
  metrics: NodeMetrics;
  /** Whether the node takes traffic (false while starting or shutting down). */
  ready: () => boolean;
  /** This node's addresses, reported by /healthz so peers can learn the gRPC address. */
  self: { http: string; grpc: string };
  /** The node's ring, for the status page; absent until it is built. */
  ring?: StatusRing;
  /** The HTTP URLs on this node's ring, itself included, reported by /healthz (default: itself). */
  members?: () => string[];
  /** Virtual nodes per member on the ring, reported by /healthz so clients build the same ring. */
  vnodes?: number;
}

/** The longest TTL a PUT may ask for: 15 digits, about 31,700 years, well inside a safe integer. */
const MAX_TTL_MS = 999_999_999_999_999;

// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/g;

/**
 * A one-line text answer. Keys are quoted where they are named, but a message may carry other text (a
 * peer's answer, an error from a library): control characters become `\uXXXX` escapes, so the body stays
 * one line.
 */
function text(status: number, body: string, headers?: Record<string, string>): Response {
  const line = body.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return new Response(line + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}

/** The path and query of a request URL, still percent-encoded. */
function rawPath(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  const q = url.indexOf("?", start);
  return q === -1 ? url.slice(start) : url.slice(start, q);
}

/** Reads a request body, refusing more than `limit` bytes; returns null when it is too large. */
async function readBody(req: Request, limit: number): Promise<Uint8Array | null> {
  const length = req.headers.get("content-length");
  const declared = Number(length ?? "0");
  if (declared > limit) return null;
  if (!req.body) return new Uint8Array(0);
  // With a declared length (which the server holds the body to), one buffer of that size: no list of
  // chunks and no second copy to join them; the cache then copies it once into its store.
  if (length !== null) return await req.bytes();
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body) {
    size += chunk.byteLength;
    if (size > limit) return null;
    parts.push(chunk);
  }
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** The headers of a value that never expires. */
const BYTES_TYPE: Record<string, string> = { "content-type": "application/octet-stream" };

/**
 * The headers of a value that expires. The expiry header is named by a literal, not by
 * `[EXPIRE_HEADER]`: a record of literal names is copied from one template, while a computed name is
 * added to each record by a slower step (the tests check the name against `EXPIRE_HEADER`).
 */
function expiryHeaders(expiry: string): Record<string, string> {
  return { "content-type": "application/octet-stream", "x-distcache-expire-unix-ms": expiry };
}

const SLASH = 0x2f;
const QUERY = 0x3f;
const PERCENT = 0x25;

function valueResponse(view: ByteView, stale = false): Response {
  const headers: Record<string, string> = { "content-type": "application/octet-stream" };
  if (view.expiresAt !== 0) headers[EXPIRE_HEADER] = String(view.expiresAt);
  if (stale) headers[STALE_HEADER] = "1";
  // Response copies its body on construction, so the cached bytes can be lent rather than copied.
  return view.withBytes((bytes) => new Response(bytes, { status: 200, headers }));
}

function found(view: ByteView | null, group: Group, key: string): Response {
  return view
    ? valueResponse(view)
    : text(404, `no value for key ${quote(key)} in group ${quote(group.name)}`);
}

/** Like {@linkcode found}, for a loaded value, which may answer stale after a failed reload. */
function loaded(view: ByteView | null, group: Group, key: string): Response {
  return view && group.isStale(view) ? valueResponse(view, true) : found(view, group, key);
}

function decode(segment: string): string {
  return segment.indexOf("%") === -1 ? segment : decodeURIComponent(segment);
}

/**
 * Builds the request handler of one node. A cache hit is answered without awaiting anything: the
 * handler returns the Response itself, and only misses and writes return a promise.
 *
 * @param deps The node's groups, limits, credentials and metrics.
 * @returns A handler for `Deno.serve`.
 */
export function httpHandler(deps: HttpDeps): (req: Request) => Response | Promise<Response> {
  // Fixed for the node's lifetime, so an open read pays one branch for it.
  const readsLocked = deps.guard.credentials.readsRequireToken;
  function cache(req: Request, path: string): Response | Promise<Response> {
    const slash = path.indexOf("/", PREFIX.length);
    if (slash === -1) return text(400, "expected /_cache/<group>/<key>");
    let groupName: string, key: string;
    try {
      groupName = decode(path.slice(PREFIX.length, slash));
      key = decode(path.slice(slash + 1));
    } catch {
      return text(400, "bad percent-encoding in the group or key");
    }
    const method = req.method;
    if (method !== "GET" && method !== "PUT" && method !== "DELETE") {
      // Checked only here, so a GET pays nothing for batch reads.
      if (method === "POST" && key === BATCH_SEGMENT) return batch(req, groupName);
      return text(
        405,
        `method ${method} not allowed; use GET, PUT or DELETE (POST only on /_cache/<group>/_batch)`,
        {
          allow: "GET, PUT, DELETE",
        },
      );
    }
    // Every method but GET (and the batch read's POST, routed above) writes, so a method added to the
    // list above is guarded until it is declared a read here.
    if (method !== "GET") {
      const who = checkHttp(deps.guard, req, "write");
      if (who instanceof Response) return who;
      deps.guard.metrics.writeAccepted(who, "http");
      return audited(who, method, groupName, key, () => writeTo(req, method, groupName, key));
    }
    if (readsLocked) {
      const who = checkHttp(deps.guard, req, "read");
      if (who instanceof Response) return who;
    }
    const group = deps.groups.get(groupName);
    if (!group) return text(404, `unknown group ${quote(groupName)}`);
    const problem = keyProblem(key, deps.maxKeyBytes);
    if (problem) return text(400, problem);
    const cached = group.getCached(key);
    if (cached !== undefined) return found(cached, group, key);
    return group.load(key, { local: req.headers.has(FORWARDED_HEADER) }).then((view) =>
      loaded(view, group, key)
    );
  }

  /** Runs a write that was let in and writes its audit line once it has an answer. */
  async function audited(
    client: string,
    method: string,
    group: string,
    key: string,
    run: () => Response | Promise<Response>,
  ): Promise<Response> {
    const target = { group, key };
    try {
      const res = await run();
      audit(client, "http", method, target, res.status);
      return res;
    } catch (e) {
      audit(client, "http", method, target, 503);
      throw e;
    }
  }

  function writeTo(
    req: Request,
    method: string,
    groupName: string,
    key: string,
  ): Response | Promise<Response> {
    const group = deps.groups.get(groupName);
    if (!group) return text(404, `unknown group ${quote(groupName)}`);
    const problem = keyProblem(key, deps.maxKeyBytes);
    if (problem) return text(400, problem);
    return write(req, method, group, key);
  }

  /** A batch read: it only reads, so it needs a token only when reads do. */
  async function batch(req: Request, groupName: string): Promise<Response> {
    if (readsLocked) {
      const who = checkHttp(deps.guard, req, "read");
      if (who instanceof Response) return who;
    }
    const group = deps.groups.get(groupName);
    if (!group) return text(404, `unknown group "${groupName}"`);
    const limits = {
      maxBatchKeys: deps.maxBatchKeys,
      maxBatchBytes: deps.maxBatchBytes,
      maxKeyBytes: deps.maxKeyBytes,
    };
    const body = await readBody(req, batchBodyLimit(limits));
    if (!body) {
      return text(
        413,
        `the body exceeds ${
          batchBodyLimit(limits)
        } bytes: limits.max_batch_keys allows ${deps.maxBatchKeys} keys`,
      );
    }
    return batchResponse(body, group, limits, req.headers.has(FORWARDED_HEADER));
  }

  async function write(req: Request, method: string, group: Group, key: string): Promise<Response> {
    const local = req.headers.has(FORWARDED_HEADER);
    if (method === "DELETE") {
      await group.delete(key, { local });
      return new Response(null, { status: 204 });
    }
    const ttlHeader = req.headers.get(TTL_HEADER) ?? "0";
    if (!/^\d+$/.test(ttlHeader)) {
      return text(400, `${TTL_HEADER} must be a whole number of milliseconds (got ${quote(ttlHeader)})`);
    }
    if (ttlHeader.length > 15) {
      return text(400, `${TTL_HEADER} is above the limit of ${MAX_TTL_MS} milliseconds (got ${ttlHeader})`);
    }
    const body = await readBody(req, deps.maxValueBytes);
    if (!body) return text(413, `value exceeds the limit of ${deps.maxValueBytes} bytes`);
    bodyTaken(body.byteLength);
    const ttlMs = Number(ttlHeader);
    // The body is ours alone: the view takes it without a copy, and the cache copies it into its store.
    await group.set(key, ByteView.adopt(body), { ttlMs: ttlMs === 0 ? undefined : ttlMs, local });
    return new Response(null, { status: 204 });
  }

  function route(req: Request, path: string): Response | Promise<Response> {
    if (path.startsWith(PREFIX)) return cache(req, path);
    if (req.method !== "GET" && req.method !== "HEAD") {
      return text(405, `method ${req.method} not allowed on ${path}`, { allow: "GET" });
    }
    switch (path) {
      case "/metrics":
        return deps.metrics.text().then((body) =>
          new Response(body, { headers: { "content-type": deps.metrics.contentType } })
        );
      case "/healthz":
        return Response.json({
          status: "ok",
          http: deps.self.http,
          grpc: deps.self.grpc,
          members: deps.members?.() ?? [deps.self.http],
          vnodes: deps.vnodes,
        });
      case "/readyz":
        return deps.ready() ? text(200, "ready") : text(503, "not ready");
      case "/":
      case "/_status":
      case "/_status/owner":
        return statusResponse(deps, path, req.url);
      default:
        return text(
          404,
          `no route for ${path}; expected /_cache/<group>/<key>, /metrics, /healthz, /readyz, / or /_status`,
        );
    }
  }

  const unavailable = (e: unknown) => text(503, `unavailable: ${(e as Error).message}`);

  /** Every request but a GET of a cached value: routed, counted by its path, timed when it waits. */
  function general(req: Request): Response | Promise<Response> {
    const path = rawPath(req.url);
    let res: Response | Promise<Response>;
    try {
      res = route(req, path);
    } catch (e) {
      res = unavailable(e);
    }
    if (res instanceof Response) {
      deps.metrics.request("http", opName(req.method, path), res.status);
      return res;
    }
    return timed(res, opName(req.method, path));
  }

  /** Counts and times a request that waits on a load, a peer or a write, from now until it is answered. */
  function timed(pending: Promise<Response>, op: string): Promise<Response> {
    const started = performance.now();
    return pending.catch(unavailable).then((done) => {
      deps.metrics.request("http", op, done.status, (performance.now() - started) / 1000);
      return done;
    });
  }

  // The groups as two parallel lists, rebuilt when the map's size changes (groups are made before the
  // servers start): a node has a few, and comparing the URL against each name in place costs less than
  // slicing the name out and looking the new string up in the Map, for which V8 computes its hash (about
  // 700 instructions a hit, docs/BENCHMARKS.md). A name not in the lists goes to the general path, which
  // looks it up in the map.
  let names: string[] = [];
  let groupList: Group[] = [];
  /** The group whose name is `url` from `start` to `end`, or undefined. */
  function groupIn(url: string, start: number, end: number): Group | undefined {
    if (names.length !== deps.groups.size) {
      names = [...deps.groups.keys()];
      groupList = [...deps.groups.values()];
    }
    const length = end - start;
    for (let i = 0; i < names.length; i++) {
      if (names[i].length === length && url.startsWith(names[i], start)) return groupList[i];
    }
    return undefined;
  }
  const hits = deps.metrics.requestCounter("http", "get", 200);
  const maxKeyBytes = deps.maxKeyBytes;
  // The headers of the last expiry answered: a hot key is answered with the same record again and
  // again, so its text is formatted and its record built once rather than per hit.
  let lastExpiry = 0;
  let lastHeaders: Record<string, string> = BYTES_TYPE;
  // Set just before `respond` runs: one function for every hit, so a hit allocates no closure.
  let hitHeaders: Record<string, string> = BYTES_TYPE;
  const respond = (bytes: Uint8Array<ArrayBuffer>) => new Response(bytes, { headers: hitHeaders });

  /**
   * The hit path: `GET /_cache/<group>/<key>` answered from this node's caches, with no promise, no
   * routing table and no map walk for the counter. Most of a hit's CPU is spent in the kernel and in
   * Deno's HTTP layer, which a bare `Deno.serve` pays too. What each step adds, in instructions per hit
   * (callgrind, docs/BENCHMARKS.md: about 2,900 in all above a bare server that reads the URL), and why
   * it stays:
   * - `req.method` and `req.url`: a call into Deno's HTTP layer for each, and a string; the URL names
   *   the group and key, so every server that routes pays them. Reads are open (no read token), so no
   *   credential is looked at.
   * - one `indexOf`, a loop over the rest of the path (cheaper than the calls into `indexOf` it
   *   replaces) and one `slice` (about 90): the key, still percent-encoded. A `%` in the key sends the
   *   request to the general path, which decodes it (keys that need escaping are rare and not hot).
   * - `groupIn` (the group's name compared in place, see above) and `keyProblem` (a length check): a
   *   user relies on both.
   * - `getCached`: the store's lookup (the key's hash, which also counts its UTF-8 length, the index
   *   probe and the key comparison, about 780), the value's own expiry and its `ByteView` (about 200
   *   together: stale-if-error keeps values past their expiry, so each carries its own), one `Date.now()`
   *   (about 150, to know whether the value has expired), the policy's bookkeeping and the group's
   *   `gets` and hit counters.
   * - `hits.count++`: `distcache_requests_total{protocol="http",op="get",code="200"}`, read at scrape.
   * - the Response: a view of the value's bytes (about 410), which Deno copies, and a header record with
   *   a content type and the expiry (users read the expiry; a `Headers` object or a list of pairs cost
   *   more than a record). The rest of the Response is Deno's, the same as a bare server's.
   *
   * @returns The answer (a promise on a miss, which loads the key), or undefined when the URL is not a
   * plain `/_cache/<group>/<key>` of a known group and a valid key: then nothing was counted yet, and the
   * general path takes the request from the start and answers it, or explains what is wrong.
   */
  function hit(req: Request): Response | Promise<Response> | undefined {
    const url = req.url;
    // The path starts at the first "/" past "http://" or "https://" and a host, which is never empty.
    const pathAt = url.indexOf("/", 8);
    if (pathAt === -1 || !url.startsWith(PREFIX, pathAt)) return undefined;
    const groupAt = pathAt + PREFIX.length;
    const end = url.length;
    let slash = groupAt;
    while (slash < end && url.charCodeAt(slash) !== SLASH) slash++;
    if (slash === end) return undefined;
    let keyEnd = slash + 1;
    for (; keyEnd < end; keyEnd++) {
      const c = url.charCodeAt(keyEnd);
      if (c === QUERY) break;
      if (c === PERCENT) return undefined;
    }
    const group = groupIn(url, groupAt, slash);
    if (group === undefined) return undefined;
    const key = url.slice(slash + 1, keyEnd);
    if (keyProblem(key, maxKeyBytes) !== undefined) return undefined;
    const cached = group.getCached(key);
    if (cached === undefined) {
      const pending = group.load(key, { local: req.headers.has(FORWARDED_HEADER) });
      return timed(pending.then((view) => loaded(view, group, key)), "get");
    }
    if (cached === null) {
      const res = found(null, group, key);
      deps.metrics.request("http", "get", res.status);
      return res;
    }
    hits.count++;
    const expiry = cached.expiresAt;
    if (expiry !== lastExpiry) {
      lastExpiry = expiry;
      lastHeaders = expiry === 0 ? BYTES_TYPE : expiryHeaders(String(expiry));
    }
    hitHeaders = lastHeaders;
    return cached.withBytes(respond);
  }

  // With a read token configured, every read is checked by the general path; open reads skip it.
  if (readsLocked) return general;
  return (req) => (req.method === "GET" && hit(req)) || general(req);
}

/** A bounded label for the request, so that odd paths cannot grow the metric set. */
function opName(method: string, path: string): string {
  if (path.startsWith(PREFIX)) {
    if (method === "POST") return path.endsWith("/" + BATCH_SEGMENT) ? "batch" : "other";
    return method === "GET" || method === "PUT" || method === "DELETE" ? method.toLowerCase() : "other";
  }
  if (path === "/" || path === "/_status" || path === "/_status/owner") return "status";
  return path === "/metrics" || path === "/healthz" || path === "/readyz" ? path.slice(1) : "other";
}
