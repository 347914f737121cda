/**
 * A peer reached over the HTTP peer protocol (`/_cache/<group>/<key>`), with `fetch`, whose
 * connections Deno keeps alive and reuses.
 * @module
 */
import { ByteView } from "../cache/byte_view.ts";
import type { PeerClient } from "../cache/peers.ts";
import { EXPIRE_HEADER, FORWARDED_HEADER, TTL_HEADER } from "../server/http.ts";
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
    return `${this.id}/_cache/${encodeURIComponent(group)}/${encodeURIComponent(key)}`;
  }

  async #call(op: string, url: string, init: RequestInit, ok: number[]): Promise<Response> {
    const started = performance.now();
    const record: PeerCallRecorder = (result) =>
      this.#options.metrics?.peerCall(this.id, op, result, (performance.now() - started) / 1000);
    let res: Response;
    try {
      res = await fetch(url, { ...init, signal: AbortSignal.timeout(this.#options.timeoutMs) });
    } catch (e) {
      record("error");
      const why = (e as Error).name === "TimeoutError"
        ? `no answer within ${this.#options.timeoutMs} ms`
        : (e as Error).message;
      throw new Error(`peer ${this.id} ${op} failed: ${why}`);
    }
    if (!ok.includes(res.status)) {
      record("error");
      const body = (await res.text().catch(() => "")).trim();
      throw new Error(`peer ${this.id} ${op} answered ${res.status}: ${body}`);
    }
    record(res.status === 404 ? "not_found" : "ok");
    return res;
  }

  /** Fetches a key from the peer; null when the peer's source has no such key. */
  async get(group: string, key: string): Promise<ByteView | null> {
    const res = await this.#call("get", this.#url(group, key), { headers: { [FORWARDED_HEADER]: "1" } }, [
      200,
      404,
    ]);
    if (res.status === 404) {
      await res.body?.cancel();
      return null;
    }
    const expires = Number(res.headers.get(EXPIRE_HEADER) ?? "0");
    return ByteView.of(new Uint8Array(await res.arrayBuffer()), Number.isFinite(expires) ? expires : 0);
  }

  /** Stores a value on the peer, keeping its remaining time to live. */
  async set(group: string, key: string, value: ByteView): Promise<void> {
    const headers: Record<string, string> = {
      [FORWARDED_HEADER]: "1",
      authorization: `Bearer ${this.#options.token}`,
      "content-type": "application/octet-stream",
    };
    if (value.expiresAt !== 0) headers[TTL_HEADER] = String(Math.max(1, value.expiresAt - Date.now()));
    const res = await this.#call("set", this.#url(group, key), {
      method: "PUT",
      headers,
      body: value.toBytes(),
    }, [204]);
    await res.body?.cancel();
  }

  /** Removes a key on the peer. */
  async delete(group: string, key: string): Promise<void> {
    const res = await this.#call("delete", this.#url(group, key), {
      method: "DELETE",
      headers: { [FORWARDED_HEADER]: "1", authorization: `Bearer ${this.#options.token}` },
    }, [204]);
    await res.body?.cancel();
  }

  /** Nothing to release: fetch's pooled connections close when idle. */
  close(): void {}
}
