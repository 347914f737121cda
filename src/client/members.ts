/**
 * Where the client learns the cluster's members: from seed nodes (their `/healthz` member lists, asked
 * again on an interval and after a failure) or from etcd (the `GroupCache/` prefix, read and watched
 * through etcd's JSON gateway with `fetch`, so no etcd library is needed).
 * @module
 */
import { decodeMember } from "../discovery/member_value.ts";
import { MEMBER_PREFIX } from "../protocol.ts";

/** One node as the client knows it. */
export interface Member {
  /** HTTP base URL, the node's name on the ring. */
  http: string;
  /** gRPC host:port, when known. */
  grpc?: string;
}

/** What a member source reports each time the member set may have changed. */
export interface Membership {
  members: Member[];
  /** Virtual nodes per member on the ring, when a node said. */
  vnodes?: number;
}

/** A source of members. */
export interface MemberSource {
  /** Reads the members once; rejects when no source answers. */
  start(onChange: (m: Membership) => void): Promise<void>;
  /** Asks again soon, as after a failed call (at most once per `minGapMs`). */
  refresh(): void;
  /** Stops every timer, watch and request. */
  close(): void;
}

/** How long one membership request may take. */
const REQUEST_TIMEOUT_MS = 2000;
/** Fewest milliseconds between two refreshes caused by failures. */
const MIN_REFRESH_GAP_MS = 500;

interface Health {
  http?: unknown;
  grpc?: unknown;
  members?: unknown;
  vnodes?: unknown;
}

async function health(base: string, signal: AbortSignal): Promise<Health> {
  const res = await fetch(`${base}/healthz`, { signal: AbortSignal.any([signal, timeout()]) });
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`${base}/healthz answered ${res.status}`);
  }
  return await res.json() as Health;
}

function timeout(): AbortSignal {
  return AbortSignal.timeout(REQUEST_TIMEOUT_MS);
}

/** Normalises a base URL given by a user: scheme and host, no trailing slash. */
export function baseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url.includes("://") ? url : `http://${url}`);
  } catch {
    throw new TypeError(`not a node URL: ${JSON.stringify(url)} (expected http://host:port)`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new TypeError(`not a node URL: ${JSON.stringify(url)} (expected http://host:port)`);
  }
  return parsed.origin;
}

/** Members from seed nodes' `/healthz`. */
export class SeedMembers implements MemberSource {
  readonly #seeds: string[];
  readonly #intervalMs: number;
  readonly #abort = new AbortController();
  readonly #grpc = new Map<string, string>();
  #known: string[] = [];
  #onChange: (m: Membership) => void = () => {};
  #timer: ReturnType<typeof setInterval> | undefined;
  #last = 0;
  #running: Promise<void> | undefined;

  /**
   * @param seeds Base URLs of any nodes of the cluster.
   * @param intervalMs How often the member list is asked again.
   */
  constructor(seeds: string[], intervalMs: number) {
    this.#seeds = seeds.map(baseUrl);
    this.#intervalMs = intervalMs;
  }

  async start(onChange: (m: Membership) => void): Promise<void> {
    this.#onChange = onChange;
    await this.#ask();
    this.#timer = setInterval(() => this.refresh(true), this.#intervalMs);
  }

  refresh(scheduled = false): void {
    const now = Date.now();
    if (this.#running || (!scheduled && now - this.#last < MIN_REFRESH_GAP_MS)) return;
    this.#last = now;
    // A failed refresh keeps the last list: the nodes it names may still answer.
    this.#running = this.#ask().catch(() => {}).finally(() => this.#running = undefined);
  }

  close(): void {
    clearInterval(this.#timer);
    this.#abort.abort();
  }

  /** Asks the known members, then the seeds, in turn until one answers. */
  async #ask(): Promise<void> {
    const candidates = [...new Set([...this.#known, ...this.#seeds])];
    const errors: string[] = [];
    for (const base of candidates) {
      if (this.#abort.signal.aborted) return;
      try {
        const h = await health(base, this.#abort.signal);
        if (typeof h.http === "string" && typeof h.grpc === "string") this.#grpc.set(h.http, h.grpc);
        const members = Array.isArray(h.members) ? h.members.filter((m) => typeof m === "string") : [base];
        if (members.length === 0) throw new Error(`${base}/healthz names no members`);
        this.#known = members;
        this.#onChange({
          members: members.map((http) => ({ http, grpc: this.#grpc.get(http) })),
          vnodes: typeof h.vnodes === "number" ? h.vnodes : undefined,
        });
        return;
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    throw new Error(`no seed node answered: ${errors.join("; ")}`);
  }
}

/** Members from etcd's `GroupCache/` prefix, through etcd's JSON gateway (`/v3/kv/range`, `/v3/watch`). */
export class EtcdMembers implements MemberSource {
  readonly #endpoints: string[];
  readonly #abort = new AbortController();
  #onChange: (m: Membership) => void = () => {};
  #endpoint = 0;
  #watching = false;
  #pending: ReturnType<typeof setTimeout> | undefined;

  /** @param endpoints etcd client endpoints, `host:port` or `http://host:port`. */
  constructor(endpoints: string[]) {
    this.#endpoints = endpoints.map(baseUrl);
  }

  async start(onChange: (m: Membership) => void): Promise<void> {
    this.#onChange = onChange;
    const revision = await this.#read();
    this.#watching = true;
    this.#watch(revision + 1);
  }

  refresh(): void {
    if (this.#pending !== undefined || this.#abort.signal.aborted) return;
    // Coalesces a burst of watch events (a rolling restart) into one read.
    this.#pending = setTimeout(() => {
      this.#pending = undefined;
      this.#read().catch(() => this.#endpoint++);
    }, 50);
  }

  close(): void {
    this.#watching = false;
    clearTimeout(this.#pending);
    this.#abort.abort();
  }

  async #post(path: string, body: unknown, signal: AbortSignal): Promise<Response> {
    const errors: string[] = [];
    for (let i = 0; i < this.#endpoints.length; i++) {
      const base = this.#endpoints[(this.#endpoint + i) % this.#endpoints.length];
      try {
        const res = await fetch(base + path, { method: "POST", body: JSON.stringify(body), signal });
        if (res.ok) {
          this.#endpoint = (this.#endpoint + i) % this.#endpoints.length;
          return res;
        }
        errors.push(`${base}${path} answered ${res.status}: ${(await res.text()).trim()}`);
      } catch (e) {
        if (this.#abort.signal.aborted) throw e;
        errors.push(`${base}${path}: ${(e as Error).message}`);
      }
    }
    throw new Error(`no etcd endpoint answered: ${errors.join("; ")}`);
  }

  /** Reads every member and reports them; resolves to the store's revision. */
  async #read(): Promise<number> {
    const signal = AbortSignal.any([this.#abort.signal, timeout()]);
    const res = await this.#post("/v3/kv/range", prefixRange(), signal);
    const doc = await res.json() as { header?: { revision?: string }; kvs?: { value?: string }[] };
    const members: Member[] = [];
    for (const kv of doc.kvs ?? []) {
      const member = decodeMember(fromBase64Text(kv.value ?? ""));
      // A value that is not a member (someone else's key, a half-written value) is skipped, as nodes do.
      if (typeof member !== "string") members.push(member);
    }
    this.#onChange({ members });
    return Number(doc.header?.revision ?? 0);
  }

  /** Follows the prefix; any event reads the member set again. Reconnects until closed. */
  async #watch(fromRevision: number): Promise<void> {
    let revision = fromRevision;
    let delayMs = 100;
    while (this.#watching) {
      try {
        const res = await this.#post("/v3/watch", {
          create_request: { ...prefixRange(), start_revision: String(revision) },
        }, this.#abort.signal);
        delayMs = 100;
        for await (const message of jsonLines(res.body!)) {
          const result = (message as { result?: { header?: { revision?: string }; events?: unknown[] } })
            .result;
          if (result?.events?.length) {
            revision = Number(result.header?.revision ?? revision) + 1;
            this.refresh();
          }
        }
      } catch {
        if (!this.#watching) return;
      }
      // The watch ended (etcd restarted, a compaction, the network): read again, then watch again.
      await new Promise((r) => setTimeout(r, delayMs));
      delayMs = Math.min(delayMs * 2, 5000);
      if (!this.#watching) return;
      try {
        revision = (await this.#read()) + 1;
      } catch {
        this.#endpoint++;
      }
    }
  }
}

function prefixRange(): { key: string; range_end: string } {
  const end = MEMBER_PREFIX.slice(0, -1) +
    String.fromCharCode(MEMBER_PREFIX.charCodeAt(MEMBER_PREFIX.length - 1) + 1);
  return { key: btoa(MEMBER_PREFIX), range_end: btoa(end) };
}

function fromBase64Text(b64: string): string {
  const raw = atob(b64);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}

/** The JSON objects of a stream that holds one after another (etcd's gateway ends each with a newline). */
async function* jsonLines(body: ReadableStream<Uint8Array>): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffer.indexOf("\n")) !== -1) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (line !== "") yield JSON.parse(line);
    }
  }
}
