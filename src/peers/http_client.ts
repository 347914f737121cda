/**
 * A peer reached over the HTTP peer protocol (`/_cache/<group>/<key>`), with `fetch`, whose
 * connections Deno keeps alive and reuses.
 * @module
 */
import { ByteView } from "../cache/byte_view.ts";
import { type PeerClient, PeerRefusal } from "../cache/peers.ts";
import { AUTHORIZATION, bearer } from "../auth/bearer.ts";
import { batchPath, cachePath, EXPIRE_HEADER, FORWARDED_HEADER, TTL_HEADER } from "../protocol.ts";
import { Buffer } from "node:buffer";
import type { PeerCallRecorder, PeerOptions } from "./peer_options.ts";

/** A peer's HTTP endpoint. */
export class HttpPeerClient implements PeerClient {
  readonly id: string;
  readonly #options: PeerOptions;

  /**
   * @param baseUrl The peer's HTTP base URL, e.g. "http://127.0.0.1:2223"; also its id.
   * @param options Token, deadline and metrics.
   */
  constructor(baseUrl: string, options: PeerOptions) {
    this.id = baseUrl;
    this.#options = options;
  }

  #url(group: string, key: string): string {
    return this.id + cachePath(group, key);
  }

  /**
   * Makes one request and reads its answer under one deadline. The timer is cleared as soon as the
   * answer is read, so a finished call leaves nothing behind.
   */
  async #call<T>(
    op: string,
    url: string,
    init: RequestInit,
    ok: number[],
    read: (res: Response) => Promise<T>,
  ): Promise<T> {
    const started = performance.now();
    const record: PeerCallRecorder = (result) =>
      this.#options.metrics?.peerCall(this.id, op, result, (performance.now() - started) / 1000);
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.#options.timeoutMs);
    try {
      const res = await fetch(url, { ...init, signal: deadline.signal, client: this.#options.httpClient });
      if (!ok.includes(res.status)) {
        const body = (await res.text()).trim();
        // 413: the request is larger than the peer's limits (a batch's share of values); the peer is fine.
        if (res.status === 413) throw new PeerRefusal(`answered ${res.status}: ${body}`);
        throw new Error(`answered ${res.status}: ${body}`);
      }
      const value = await read(res);
      record(res.status === 404 ? "not_found" : "ok");
      return value;
    } catch (e) {
      record("error");
      const why = deadline.signal.aborted
        ? `no answer within ${this.#options.timeoutMs} ms`
        : (e as Error).message;
      if (e instanceof PeerRefusal) throw new PeerRefusal(`peer ${this.id} ${op} refused: ${why}`);
      this.#options.failures?.failed(this.id, `${op}: ${why}`);
      throw new Error(`peer ${this.id} ${op} failed: ${why}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Fetches a key from the peer; null when the peer's source has no such key. */
  get(group: string, key: string): Promise<ByteView | null> {
    const init = { headers: { [FORWARDED_HEADER]: "1", [AUTHORIZATION]: bearer(this.#options.token()) } };
    return this.#call("get", this.#url(group, key), init, [200, 404], async (res) => {
      if (res.status === 404) {
        await res.body?.cancel();
        return null;
      }
      const expires = Number(res.headers.get(EXPIRE_HEADER) ?? "0");
      return ByteView.of(new Uint8Array(await res.arrayBuffer()), Number.isFinite(expires) ? expires : 0);
    });
  }

  /**
   * Fetches many keys in one `POST /_cache/<group>/_batch`; a key the peer failed to load (status 503)
   * or refused comes back as an Error.
   */
  getMany(group: string, keys: readonly string[]): Promise<(ByteView | null | Error)[]> {
    const init = {
      method: "POST",
      // Deno.serve compresses a JSON answer for a client that accepts it: between peers that is CPU spent
      // to save bytes that cost nothing.
      headers: {
        [FORWARDED_HEADER]: "1",
        [AUTHORIZATION]: bearer(this.#options.token()),
        "content-type": "application/json",
        "accept-encoding": "identity",
      },
      body: JSON.stringify({ keys }),
    };
    return this.#call("get_many", this.id + batchPath(group), init, [200], async (res) => {
      const { results } = await res.json() as { results?: BatchResultJson[] };
      if (!Array.isArray(results) || results.length !== keys.length) {
        throw new Error(`batch answer has ${results?.length ?? "no"} results for ${keys.length} keys`);
      }
      return results.map((r, i) => {
        if (r.key !== keys[i]) return new Error(`batch answer ${i} is for another key`);
        if (r.status === 404) return null;
        if (r.status !== 200 || typeof r.value_base64 !== "string") {
          return new Error(`peer ${this.id} answered ${r.status} for the key: ${r.error ?? ""}`);
        }
        return ByteView.of(Buffer.from(r.value_base64, "base64"), Number(r.expire_unix_ms ?? 0) || 0);
      });
    });
  }

  /** Stores a value on the peer, keeping its remaining time to live. */
  set(group: string, key: string, value: ByteView): Promise<void> {
    const headers: Record<string, string> = {
      [FORWARDED_HEADER]: "1",
      [AUTHORIZATION]: bearer(this.#options.token()),
      "content-type": "application/octet-stream",
    };
    if (value.expiresAt !== 0) headers[TTL_HEADER] = String(Math.max(1, value.expiresAt - Date.now()));
    const init = { method: "PUT", headers, body: value.toBytes() };
    return this.#call("set", this.#url(group, key), init, [204], discard);
  }

  /** Removes a key on the peer. */
  delete(group: string, key: string): Promise<void> {
    const headers = { [FORWARDED_HEADER]: "1", [AUTHORIZATION]: bearer(this.#options.token()) };
    return this.#call("delete", this.#url(group, key), { method: "DELETE", headers }, [204], discard);
  }

  /** Nothing to release: fetch's pooled connections close when idle. */
  close(): void {}
}

/** One result of a batch answer, as the peer sends it. */
interface BatchResultJson {
  key?: string;
  status?: number;
  value_base64?: string;
  expire_unix_ms?: number;
  error?: string;
}

async function discard(res: Response): Promise<void> {
  await res.body?.cancel();
}
