/**
 * The client library's core: routes each key to its owner on the same ring the nodes use, over the HTTP
 * API with `fetch`, so one code runs on Deno and on Node 20+.
 * @module
 */
import { ConsistentHash, DEFAULT_REPLICAS } from "../cache/consistent_hash.ts";
import { type CnfMetric, fromJson, validateCnfId, validateCnfMetric } from "../cnf/cnf_metric.ts";
import { fromMessage, toMessage } from "../cnf/cnf_metric_message.ts";
import { Breaker } from "../peers/breaker.ts";
import {
  AUTHORIZATION,
  batchPath,
  cachePath,
  EXPIRE_HEADER,
  FORWARDED_HEADER,
  STALE_HEADER,
  TTL_HEADER,
} from "../protocol.ts";
import { CnfGrpc } from "./cnf_grpc.ts";
import { DistcacheError, statusError } from "./errors.ts";
import { EtcdMembers, type Member, type Membership, type MemberSource, SeedMembers } from "./members.ts";

/** How to reach a cluster; see {@linkcode connect}. */
export interface ConnectOptions {
  /** Base URLs of one or more nodes (`http://host:port`); their member lists name the rest. */
  seeds?: string[];
  /** etcd client endpoints (`host:port` or `http://host:port`); the nodes' registrations name them. */
  etcd?: string[];
  /** Client token: sent as `authorization: Bearer <token>` on writes, and on reads when given. */
  token?: string;
  /** Deadline of each call to one node, in milliseconds; default 1000. */
  timeoutMs?: number;
  /** Further nodes a failed read is tried on, in ring order after the owner; default 2. */
  retries?: number;
  /** How often seed member lists are asked again, in milliseconds; default 5000. */
  refreshMs?: number;
  /** Virtual nodes per member; default: what the nodes report, else 1024. Must match the nodes'. */
  vnodes?: number;
}

/** A value with what the node said about it. */
export interface Entry {
  /** The value's bytes. */
  value: Uint8Array;
  /** Absolute expiry in Unix epoch milliseconds; 0 when it never expires. */
  expiresAt: number;
  /** True when the node served an expired value because reloading it failed. */
  stale: boolean;
}

/** Per-call options of a write. */
export interface SetOptions {
  /** Time to live in milliseconds; absent: the group's default. */
  ttlMs?: number;
}

interface Node {
  url: string;
  breaker: Breaker;
}

interface BatchResult {
  key?: unknown;
  status?: unknown;
  value_base64?: unknown;
}

/** Milliseconds between retries, before jitter: the first retry waits 0-10 ms, the second 0-20 ms. */
const RETRY_BASE_MS = 10;

/**
 * A connection to a distcache cluster. Make one with {@linkcode connect}, share it, and close it when done.
 */
export class DistcacheClient {
  readonly #source: MemberSource;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #fixedVnodes: number | undefined;
  #ring: ConsistentHash;
  #vnodes: number;
  readonly #nodes = new Map<string, Node>();
  readonly #grpcAddresses = new Map<string, string>();
  readonly #closing = new AbortController();
  #cnf: CnfGrpc | undefined;

  /** Use {@linkcode connect}. */
  constructor(source: MemberSource, options: ConnectOptions) {
    this.#source = source;
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 1000;
    this.#retries = options.retries ?? 2;
    this.#fixedVnodes = options.vnodes;
    this.#vnodes = options.vnodes ?? DEFAULT_REPLICAS;
    this.#ring = new ConsistentHash({ replicas: this.#vnodes });
  }

  /** Applies a member set: the ring, and one breaker per node kept across changes. */
  update(m: Membership): void {
    const vnodes = this.#fixedVnodes ?? m.vnodes ?? this.#vnodes;
    if (vnodes !== this.#vnodes) {
      this.#vnodes = vnodes;
      this.#ring = new ConsistentHash({ replicas: vnodes });
    }
    const urls = new Set(m.members.map((member: Member) => member.http));
    for (const member of m.members) if (member.grpc) this.#grpcAddresses.set(member.http, member.grpc);
    for (const url of [...this.#nodes.keys()]) if (!urls.has(url)) this.#nodes.delete(url);
    for (const url of urls) {
      if (!this.#nodes.has(url)) {
        this.#nodes.set(url, {
          url,
          breaker: new Breaker(url, {}, (e) => !(e instanceof DistcacheError) || e.retryable),
        });
      }
    }
    this.#ring.set(urls);
  }

  /**
   * The members the client routes to, in ascending order.
   *
   * @returns Their HTTP base URLs.
   */
  members(): string[] {
    return this.#ring.nodes();
  }

  /**
   * The node owning a key, as the nodes themselves compute it.
   *
   * @param key The key.
   * @returns The owner's base URL, or undefined when no member is known.
   */
  owner(key: string): string | undefined {
    return this.#ring.get(key);
  }

  /**
   * Reads a value from its owner; when the owner fails, from the next nodes of the ring (each loads it
   * from the owner or the source as a node does).
   *
   * @param group The group, e.g. "metrics".
   * @param key The key.
   * @returns The value's bytes, or null when the source has no such key (or the group is unknown).
   * @throws {DistcacheError} `invalid_argument`, `unauthenticated`, `unavailable` or `closed`.
   */
  async get(group: string, key: string): Promise<Uint8Array | null> {
    return (await this.getEntry(group, key))?.value ?? null;
  }

  /**
   * Like {@linkcode get}, with the value's expiry and whether it was served stale.
   *
   * @param group The group.
   * @param key The key.
   * @returns The entry, or null when the source has no such key.
   */
  getEntry(group: string, key: string): Promise<Entry | null> {
    checkName("group", group);
    checkName("key", key);
    return this.#read(
      key,
      `get ${group}/${JSON.stringify(key)}`,
      (node, retry) => this.#getFrom(node, group, key, retry),
    );
  }

  /**
   * Reads many keys of one group: one batch call per owner, all at once; a batch whose node fails is read
   * key by key from the next nodes of the ring.
   *
   * @param group The group.
   * @param keys The keys, in the order the answer keeps.
   * @returns Each key's value, or null where the source has none, in the order asked.
   * @throws {DistcacheError} When a key cannot be read from any node, or the input is refused.
   */
  async getMany(group: string, keys: string[]): Promise<(Uint8Array | null)[]> {
    checkName("group", group);
    keys.forEach((key) => checkName("key", key));
    this.#checkOpen();
    const out: (Uint8Array | null)[] = new Array(keys.length).fill(null);
    const byOwner = new Map<string, number[]>();
    keys.forEach((key, i) => {
      const owner = this.#ring.get(key);
      if (owner === undefined) return;
      const list = byOwner.get(owner);
      if (list) list.push(i);
      else byOwner.set(owner, [i]);
    });
    if (byOwner.size === 0 && keys.length > 0) throw this.#noMembers();
    await Promise.all([...byOwner].map(async ([owner, indexes]) => {
      const node = this.#nodes.get(owner)!;
      let values: (Uint8Array | null)[] | undefined;
      try {
        values = await node.breaker.run(() => this.#batchFrom(node, group, indexes.map((i) => keys[i])));
      } catch (e) {
        if (e instanceof DistcacheError && !e.retryable && e.status !== 404 && e.status !== 405) throw e;
        this.#source.refresh();
      }
      if (values) {
        indexes.forEach((at, j) => out[at] = values![j]);
        return;
      }
      // The owner failed or predates batch reads: read each of its keys with retries.
      await Promise.all(indexes.map(async (at) => out[at] = await this.get(group, keys[at])));
    }));
    return out;
  }

  /**
   * Stores a value on its owner. Never retried: a write that may have landed is not sent twice.
   *
   * @param group The group.
   * @param key The key.
   * @param value The bytes, or a string stored as UTF-8.
   * @param options `ttlMs`: time to live, else the group's default.
   * @throws {DistcacheError} `unauthenticated` without a write token, `invalid_argument`, `unavailable`.
   */
  async set(group: string, key: string, value: Uint8Array | string, options: SetOptions = {}): Promise<void> {
    checkName("group", group);
    checkName("key", key);
    const headers: Record<string, string> = { "content-type": "application/octet-stream" };
    if (options.ttlMs !== undefined) {
      if (!Number.isSafeInteger(options.ttlMs) || options.ttlMs < 0) {
        throw new DistcacheError(
          "invalid_argument",
          `ttlMs must be a non-negative integer, got ${options.ttlMs}`,
        );
      }
      headers[TTL_HEADER] = String(options.ttlMs);
    }
    const body = typeof value === "string" ? new TextEncoder().encode(value) : value;
    await this.#write(
      key,
      "PUT",
      cachePath(group, key),
      headers,
      body,
      `set ${group}/${JSON.stringify(key)}`,
    );
  }

  /**
   * Removes a key from every node (the receiving node tells the others). Never retried.
   *
   * @param group The group.
   * @param key The key.
   * @throws {DistcacheError} `unauthenticated` without a write token, `unavailable` when some node could
   * not be told (the message names them).
   */
  async delete(group: string, key: string): Promise<void> {
    checkName("group", group);
    checkName("key", key);
    await this.#write(
      key,
      "DELETE",
      cachePath(group, key),
      {},
      undefined,
      `delete ${group}/${JSON.stringify(key)}`,
    );
  }

  /**
   * Reads one CNF's latest metric through the cache (group `metrics`).
   *
   * @param cnfId The CNF, e.g. "CNF-001".
   * @returns The metric, or null when the CNF has none.
   */
  async showCnfMetric(cnfId: string): Promise<CnfMetric | null> {
    const bytes = await this.get("metrics", checkCnfId(cnfId));
    return bytes === null ? null : fromJson(bytes);
  }

  /**
   * Reads the latest metric of each CNF named, through the cache in one batch per owner.
   *
   * @param cnfIds The CNFs.
   * @returns Each CNF's metric, or null where it has none, in the order asked.
   */
  async listCnfMetrics(cnfIds: string[]): Promise<(CnfMetric | null)[]> {
    const values = await this.getMany("metrics", cnfIds.map(checkCnfId));
    return values.map((v) => v === null ? null : fromJson(v));
  }

  /**
   * Writes a CNF's metric to the database (`CnfMetricsService.CreateCnfMetric` over gRPC, which inserts or
   * replaces the row and then drops every cached copy). Needs a token with the write scope. Never retried.
   *
   * @param metric The metric; checked here before it is sent.
   * @returns The metric as stored.
   */
  async createCnfMetric(metric: CnfMetric): Promise<CnfMetric> {
    const valid = wrapInvalid(() => validateCnfMetric(metric));
    const stored = await this.#cnfGrpc().create(this.#grpcFor(valid.cnfId), toMessage(valid));
    return fromMessage(stored);
  }

  /**
   * Deletes a CNF's metric from the database and every cache (`DeleteCnfMetric`). Never retried.
   *
   * @param cnfId The CNF.
   */
  async deleteCnfMetric(cnfId: string): Promise<void> {
    const id = checkCnfId(cnfId);
    await this.#cnfGrpc().delete(this.#grpcFor(id), id);
  }

  /** Stops following membership and closes every connection; later calls fail with `closed`. */
  close(): Promise<void> {
    this.#closing.abort();
    this.#source.close();
    this.#cnf?.close();
    return Promise.resolve();
  }

  #cnfGrpc(): CnfGrpc {
    this.#checkOpen();
    return this.#cnf ??= new CnfGrpc(this.#token, this.#timeoutMs);
  }

  /** The gRPC address of the key's owner, else of any member whose address is known. */
  #grpcFor(key: string): string {
    const owner = this.#ring.get(key);
    const address = (owner && this.#grpcAddresses.get(owner)) ?? this.#grpcAddresses.values().next().value;
    if (address === undefined) {
      throw new DistcacheError("unavailable", "no member's gRPC address is known yet");
    }
    return address;
  }

  #checkOpen(): void {
    if (this.#closing.signal.aborted) throw new DistcacheError("closed", "the client is closed");
  }

  #noMembers(): DistcacheError {
    return new DistcacheError("unavailable", "no cluster member is known");
  }

  /**
   * Tries the owner, then the next nodes of the ring, with a short random pause before each retry. A
   * retry is marked forwarded: the node answers from its cache or its own source instead of asking the
   * owner that just failed (and waiting out its own deadline on it).
   */
  async #read<T>(key: string, what: string, call: (node: Node, retry: boolean) => Promise<T>): Promise<T> {
    this.#checkOpen();
    const urls = this.#ring.successors(key, 1 + this.#retries);
    if (urls.length === 0) throw this.#noMembers();
    const failures: string[] = [];
    for (let i = 0; i < urls.length; i++) {
      if (i > 0) await sleep(Math.random() * RETRY_BASE_MS * i);
      this.#checkOpen();
      const node = this.#nodes.get(urls[i]);
      if (!node) continue;
      try {
        return await node.breaker.run(() => call(node, i > 0));
      } catch (e) {
        if (e instanceof DistcacheError && !e.retryable) throw e;
        failures.push((e as Error).message);
        this.#source.refresh();
      }
    }
    throw new DistcacheError("unavailable", `${what} failed on ${urls.length} nodes: ${failures.join("; ")}`);
  }

  async #write(
    key: string,
    method: string,
    path: string,
    headers: Record<string, string>,
    body: Uint8Array | undefined,
    what: string,
  ): Promise<void> {
    this.#checkOpen();
    const owner = this.#ring.get(key);
    if (owner === undefined) throw this.#noMembers();
    const node = this.#nodes.get(owner)!;
    try {
      await node.breaker.run(async () => {
        const res = await this.#fetch(node, path, { method, headers, body }, what);
        await res.body?.cancel();
        if (res.status !== 204 && res.status !== 200) throw await this.#failure(res, node, what);
      });
    } catch (e) {
      if (e instanceof DistcacheError && e.retryable) this.#source.refresh();
      throw e;
    }
  }

  async #getFrom(node: Node, group: string, key: string, retry: boolean): Promise<Entry | null> {
    const what = `get ${group}/${JSON.stringify(key)}`;
    const headers: Record<string, string> = retry ? { [FORWARDED_HEADER]: "1" } : {};
    const res = await this.#fetch(node, cachePath(group, key), { method: "GET", headers }, what);
    if (res.status === 404) {
      await res.body?.cancel();
      return null;
    }
    if (res.status !== 200) throw await this.#failure(res, node, what);
    return {
      value: new Uint8Array(await res.arrayBuffer()),
      expiresAt: Number(res.headers.get(EXPIRE_HEADER) ?? "0") || 0,
      stale: res.headers.get(STALE_HEADER) === "1",
    };
  }

  async #batchFrom(node: Node, group: string, keys: string[]): Promise<(Uint8Array | null)[]> {
    const what = `batch get of ${keys.length} keys of ${group}`;
    const res = await this.#fetch(node, batchPath(group), {
      method: "POST",
      // Inside a cluster the network is fast and compressing base64 JSON costs the node more CPU than the
      // rest of the batch (docs/BENCHMARKS.md, batch): ask for it as is.
      headers: { "content-type": "application/json", "accept-encoding": "identity" },
      body: new TextEncoder().encode(JSON.stringify({ keys })),
    }, what);
    if (res.status !== 200) throw await this.#failure(res, node, what);
    const doc = await res.json() as { results?: BatchResult[] };
    const results = doc.results;
    if (!Array.isArray(results) || results.length !== keys.length) {
      throw new DistcacheError(
        "unavailable",
        `${what} from ${node.url}: the answer does not hold one result per key`,
      );
    }
    return results.map((r, i) => {
      if (r.key !== keys[i]) {
        throw new DistcacheError("unavailable", `${what} from ${node.url}: result ${i} is for another key`);
      }
      if (r.status === 200 && typeof r.value_base64 === "string") return fromBase64(r.value_base64);
      if (r.status === 404) return null;
      throw statusError(Number(r.status), `${what} from ${node.url}, key ${JSON.stringify(keys[i])},`, "");
    });
  }

  /** One request to one node under the client's deadline. */
  async #fetch(
    node: Node,
    path: string,
    init: { method: string; headers: Record<string, string>; body?: Uint8Array },
    what: string,
  ): Promise<Response> {
    const headers = { ...init.headers };
    if (this.#token !== undefined) headers[AUTHORIZATION] = `Bearer ${this.#token}`;
    const signal = AbortSignal.any([this.#closing.signal, AbortSignal.timeout(this.#timeoutMs)]);
    try {
      // A Uint8Array over a SharedArrayBuffer is not a BodyInit in the DOM types; fetch copies it either way.
      const body = init.body as BodyInit | undefined;
      return await fetch(node.url + path, { method: init.method, headers, body, signal });
    } catch (e) {
      if (this.#closing.signal.aborted) throw new DistcacheError("closed", "the client is closed");
      const why = (e as Error).name === "TimeoutError"
        ? `no answer within ${this.#timeoutMs} ms`
        : (e as Error).message;
      throw new DistcacheError("unavailable", `${what} on ${node.url}: ${why}`);
    }
  }

  async #failure(res: Response, node: Node, what: string): Promise<DistcacheError> {
    return statusError(res.status, `${what} on ${node.url}`, await res.text().catch(() => ""));
  }
}

/**
 * Connects to a cluster: learns its members from etcd or from seed nodes, and resolves once it knows
 * them.
 *
 * @param options `seeds` or `etcd` (at least one), `token` for writes, deadlines and retries.
 * @returns A client; call `close()` when done.
 * @throws {TypeError} When neither seeds nor etcd is given, or an address is not a URL.
 * @throws {DistcacheError} `unavailable` when no seed or etcd endpoint answers.
 * @example
 * ```ts
 * import { connect } from "./mod.ts";
 *
 * const client = await connect({ seeds: ["http://127.0.0.1:2222"] });
 * const bytes = await client.get("metrics", "CNF-001"); // Uint8Array or null
 * await client.close();
 * ```
 */
export async function connect(options: ConnectOptions = {}): Promise<DistcacheClient> {
  const { seeds = [], etcd = [] } = options;
  if (seeds.length === 0 && etcd.length === 0) {
    throw new TypeError("connect needs seeds (node URLs) or etcd (endpoints), got neither");
  }
  for (
    const [field, value] of [["timeoutMs", options.timeoutMs], ["refreshMs", options.refreshMs]] as const
  ) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) {
      throw new TypeError(`${field} must be a positive integer, got ${value}`);
    }
  }
  if (options.retries !== undefined && !(Number.isSafeInteger(options.retries) && options.retries >= 0)) {
    throw new TypeError(`retries must be a non-negative integer, got ${options.retries}`);
  }
  const source = etcd.length > 0 ? new EtcdMembers(etcd) : new SeedMembers(seeds, options.refreshMs ?? 5000);
  const client = new DistcacheClient(source, options);
  try {
    await source.start((m) => client.update(m));
  } catch (e) {
    source.close();
    throw new DistcacheError("unavailable", `cannot learn the cluster's members: ${(e as Error).message}`);
  }
  return client;
}

function checkName(field: string, value: unknown): void {
  if (typeof value !== "string" || value === "") {
    throw new DistcacheError(
      "invalid_argument",
      `${field} must be a non-empty string, got ${JSON.stringify(value)}`,
    );
  }
}

function checkCnfId(id: string): string {
  return wrapInvalid(() => validateCnfId(id));
}

function wrapInvalid<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new DistcacheError("invalid_argument", (e as Error).message);
  }
}

function fromBase64(b64: string): Uint8Array {
  const raw = atob(b64);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
