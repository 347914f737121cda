/**
 * The CNF-metrics writes of the client library, over `cnfmetricspb.CnfMetricsService` (gRPC is the only
 * API that writes the database). grpc-js is imported on the first write, so a client that only reads
 * needs nothing but `fetch`.
 * @module
 */
import { Buffer } from "node:buffer";
import type * as grpcTypes from "@grpc/grpc-js";
import type { CnfMetricMessage } from "../cnf/cnf_metric_message.ts";
import { AUTHORIZATION } from "../protocol.ts";
import { decodeMetricResponse, encodeCreateRequest, encodeIdRequest } from "./_cnf_wire.ts";
import { DistcacheError, type DistcacheErrorCode } from "./errors.ts";

const SERVICE = "/cnfmetricspb.CnfMetricsService/";

/** gRPC status codes as the library's error codes; anything else is `unavailable`. */
const CODES: Record<number, DistcacheErrorCode> = {
  3: "invalid_argument",
  7: "permission_denied",
  16: "unauthenticated",
};

/** Calls to CnfMetricsService, one channel per node address, reused. */
export class CnfGrpc {
  readonly #token: string | undefined;
  readonly #timeoutMs: number;
  readonly #channels = new Map<string, grpcTypes.Client>();
  #grpc: Promise<typeof grpcTypes> | undefined;

  /**
   * @param token Sent as `authorization: Bearer <token>`.
   * @param timeoutMs Deadline of each call.
   */
  constructor(token: string | undefined, timeoutMs: number) {
    this.#token = token;
    this.#timeoutMs = timeoutMs;
  }

  /** `CreateCnfMetric`: resolves to the metric as stored. */
  async create(address: string, metric: CnfMetricMessage): Promise<CnfMetricMessage> {
    const stored = await this.#call(address, "CreateCnfMetric", encodeCreateRequest(metric));
    if (stored === null) {
      throw new DistcacheError("unavailable", `CreateCnfMetric on ${address} returned no metric`);
    }
    return stored;
  }

  /** `DeleteCnfMetric`. */
  async delete(address: string, cnfId: string): Promise<void> {
    await this.#call(address, "DeleteCnfMetric", encodeIdRequest(cnfId));
  }

  /** Closes every channel. */
  close(): void {
    for (const c of this.#channels.values()) c.close();
    this.#channels.clear();
  }

  async #call(address: string, method: string, request: Uint8Array): Promise<CnfMetricMessage | null> {
    const grpc = await (this.#grpc ??= import("@grpc/grpc-js"));
    let channel = this.#channels.get(address);
    if (!channel) {
      channel = new grpc.Client(address, grpc.credentials.createInsecure());
      this.#channels.set(address, channel);
    }
    const metadata = new grpc.Metadata();
    if (this.#token !== undefined) metadata.set(AUTHORIZATION, `Bearer ${this.#token}`);
    return await new Promise((resolve, reject) => {
      channel.makeUnaryRequest(
        SERVICE + method,
        (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength),
        (b: Buffer) => decodeMetricResponse(new Uint8Array(b.buffer, b.byteOffset, b.byteLength)),
        request,
        metadata,
        { deadline: Date.now() + this.#timeoutMs },
        (err: grpcTypes.ServiceError | null, res?: CnfMetricMessage | null) => {
          if (!err) return resolve(res ?? null);
          const code = err.code === 5 ? "invalid_argument" : CODES[err.code] ?? "unavailable";
          reject(
            new DistcacheError(code, `${method} on ${address}: ${grpc.status[err.code]}: ${err.details}`),
          );
        },
      );
    });
  }
}
