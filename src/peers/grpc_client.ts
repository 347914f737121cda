/**
 * A peer reached over gRPC (`groupcachepb.GroupCache`), through one channel per peer that every call
 * reuses. The peer's gRPC address is given, or learned once from its HTTP /healthz.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { ByteView } from "../cache/byte_view.ts";
import { type PeerClient, PeerRefusal } from "../cache/peers.ts";
import { AUTHORIZATION, bearer } from "../auth/bearer.ts";
import { FORWARDED_HEADER } from "../protocol.ts";
import { serviceClient } from "../server/proto.ts";
import type { PeerOptions } from "./peer_options.ts";

type Unary = (
  req: unknown,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res: Record<string, unknown>) => void,
) => void;

/** A peer's gRPC endpoint. */
export class GrpcPeerClient implements PeerClient {
  readonly id: string;
  readonly #options: PeerOptions;
  #grpcAddress: string | undefined;
  #client: Promise<grpc.Client> | undefined;
  /** `distcache.v1.Batch` on the same channel, made on the first batch. */
  #batchClient: grpc.Client | undefined;
  #closed = false;

  /**
   * @param httpUrl The peer's HTTP base URL: its id on the ring.
   * @param grpcAddress The peer's gRPC host:port, or undefined to learn it from the peer's /healthz.
   * @param options Token, deadline and metrics.
   */
  constructor(httpUrl: string, grpcAddress: string | undefined, options: PeerOptions) {
    this.id = httpUrl;
    this.#grpcAddress = grpcAddress;
    this.#options = options;
  }

  #channel(): Promise<grpc.Client> {
    if (!this.#client) {
      this.#client = this.#connect();
      // A failed address lookup is not remembered: the next call asks again.
      this.#client.catch(() => this.#client = undefined);
    }
    return this.#client;
  }

  async #connect(): Promise<grpc.Client> {
    if (!this.#grpcAddress) {
      const res = await fetch(`${this.id}/healthz`, { signal: AbortSignal.timeout(this.#options.timeoutMs) });
      const body = await res.json() as { grpc?: unknown };
      if (typeof body.grpc !== "string") throw new Error(`/healthz names no grpc address`);
      this.#grpcAddress = body.grpc;
    }
    if (this.#closed) throw new Error("client closed");
    const Client = serviceClient("groupcache.proto", "groupcachepb.GroupCache");
    // Batch answers (distcache.v1.Batch shares this channel) may exceed the default 4 MiB.
    return new Client(this.#grpcAddress, grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": -1,
    });
  }

  async #call(
    op: "Get" | "GetMany" | "Set" | "Delete",
    req: unknown,
  ): Promise<Record<string, unknown> | null> {
    const started = performance.now();
    const record = (result: "ok" | "not_found" | "error") =>
      this.#options.metrics?.peerCall(
        this.id,
        op.toLowerCase(),
        result,
        (performance.now() - started) / 1000,
      );
    let client: grpc.Client;
    try {
      client = await this.#channel();
    } catch (e) {
      record("error");
      this.#options.failures?.failed(this.id, `${op}: ${(e as Error).message}`);
      throw new Error(`peer ${this.id} ${op} failed: ${(e as Error).message}`);
    }
    const md = new grpc.Metadata();
    md.set(FORWARDED_HEADER, "1");
    md.set(AUTHORIZATION, bearer(this.#options.token()));
    if (op === "GetMany") client = this.#batchClient ??= this.#batchOn(client);
    const method = (client as unknown as Record<string, Unary>)[op].bind(client);
    return await new Promise((resolve, reject) => {
      method(req, md, { deadline: Date.now() + this.#options.timeoutMs }, (err, res) => {
        if (!err) {
          record("ok");
          resolve(res);
        } else if (err.code === grpc.status.NOT_FOUND && op === "Get") {
          record("not_found");
          resolve(null);
        } else {
          record("error");
          const why = `${grpc.status[err.code]}: ${err.details}`;
          // A batch whose share of values passes the peer's max_batch_bytes: the peer is fine.
          if (err.code === grpc.status.INVALID_ARGUMENT && /limits\.max_batch_bytes/.test(err.details)) {
            return reject(new PeerRefusal(`peer ${this.id} ${op} refused: ${why}`));
          }
          this.#options.failures?.failed(this.id, `${op}: ${why}`);
          reject(new Error(`peer ${this.id} ${op} failed: ${why}`));
        }
      });
    });
  }

  /** Fetches a key from the peer; null when the peer's source has no such key. */
  async get(group: string, key: string): Promise<ByteView | null> {
    const res = await this.#call("Get", { group, key });
    if (!res) return null;
    return ByteView.of(res.value as Uint8Array, Number(res.expire_unix_ms ?? 0));
  }

  /**
   * Fetches many keys in one `distcache.v1.Batch/GetMany`; a key the peer failed to load or refused
   * comes back as an Error.
   */
  async getMany(group: string, keys: readonly string[]): Promise<(ByteView | null | Error)[]> {
    const res = await this.#call("GetMany", { group, keys });
    const results = (res?.results ?? []) as Record<string, unknown>[];
    if (results.length !== keys.length) {
      throw new Error(`peer ${this.id} GetMany answered ${results.length} results for ${keys.length} keys`);
    }
    return results.map((r, i) => {
      if (r.key !== keys[i]) return new Error(`peer ${this.id} GetMany result ${i} is for another key`);
      if (r.code === grpc.status.NOT_FOUND) return null;
      if (r.code !== grpc.status.OK) {
        return new Error(`peer ${this.id} answered ${grpc.status[Number(r.code)]} for the key: ${r.error}`);
      }
      return ByteView.of(r.value as Uint8Array, Number(r.expire_unix_ms ?? 0));
    });
  }

  #batchOn(client: grpc.Client): grpc.Client {
    const Batch = serviceClient("distcache_batch.proto", "distcache.v1.Batch");
    return new Batch(this.#grpcAddress!, grpc.credentials.createInsecure(), {
      channelOverride: client.getChannel(),
    });
  }

  /** Stores a value on the peer, keeping its remaining time to live. */
  async set(group: string, key: string, value: ByteView): Promise<void> {
    const ttl = value.expiresAt === 0 ? 0 : Math.max(1, value.expiresAt - Date.now());
    await this.#call("Set", { group, key, value: value.toBytes(), ttl_ms: ttl });
  }

  /** Removes a key on the peer. */
  async delete(group: string, key: string): Promise<void> {
    await this.#call("Delete", { group, key });
  }

  /** Closes the channel. */
  close(): void {
    this.#closed = true;
    this.#client?.then((c) => c.close(), () => {});
  }
}
