/**
 * The gRPC service `cnfmetricspb.CnfMetricsService`: reads go through the cache, writes go to the
 * repository and then drop the cached entry on every node, lists page through the repository, and every
 * failure becomes a gRPC status naming the cause.
 * @module
 */
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { CnfValidationError, fromJson, validateCnfId } from "./cnf_metric.ts";
import { type CnfMetricMessage, fromMessage, toMessage } from "./cnf_metric_message.ts";
import { decodePageToken, encodePageToken, pageSize } from "./page_token.ts";
import type { CnfRepository } from "./repository.ts";
import { STALE_HEADER } from "../protocol.ts";

/** What the handlers need from the node. */
export interface CnfMetricsDeps {
  /** The source of truth, written by Create, Update and Delete. */
  repo: CnfRepository;
  /**
   * Reads a CNF's cached JSON value (group `metrics`), loading it on a miss; `null` if it has none. A
   * {@linkcode CnfRead} tells whether the value answers stale (past its expiry, its reload having failed).
   */
  get: (cnfId: string) => Promise<Uint8Array | CnfRead | null>;
  /**
   * Drops a CNF's cached value after a write from every node's main and hot cache, so no node serves
   * the old value once a write has answered OK.
   */
  invalidate: (cnfId: string) => Promise<void>;
}

/** A cached value and whether it answers stale; ShowCnfMetric then sets `x-distcache-stale: 1` metadata. */
export interface CnfRead {
  /** The CnfMetric's JSON. */
  bytes: Uint8Array;
  /** True when the value expired and its reload failed. */
  stale: boolean;
}

/** `CnfMetricRequest`. */
export interface CnfMetricRequest {
  /** The CNF asked for. */
  cnf_id: string;
}

/** `CreateCnfMetricRequest` and `UpdateCnfMetricRequest`. */
export interface CnfMetricWriteRequest {
  /** The metric to write; `null` when the client left it unset. */
  metric: CnfMetricMessage | null;
}

/** `CnfMetricResponse`. */
export interface CnfMetricResponse {
  /** The metric read or written; `null` for Delete. */
  metric: CnfMetricMessage | null;
  /** Always {@linkcode CODE_OK}: failures travel as gRPC status codes, without a response message. */
  code: number;
}

/** `ListCnfMetricsRequest`. */
export interface ListCnfMetricsRequest {
  /** Rows per page: 0 for the default (100), at most 1000 (larger is lowered). */
  page_size: number;
  /** `""` for the first page, else the previous response's `next_page_token`. */
  page_token: string;
}

/** `ListCnfMetricsResponse`. */
export interface ListCnfMetricsResponse {
  /** This page, in `cnf_id` byte order. */
  metrics: CnfMetricMessage[];
  /** Pass as `page_token` for the next page; `""` after the last page. */
  next_page_token: string;
  /** Always {@linkcode CODE_OK}, as in {@linkcode CnfMetricResponse}. */
  code: number;
}

/**
 * The `code` of every response that arrives: 200, as in the original service. Its other values (400 bad
 * input, 404 not found, 500 server error) are now gRPC statuses (INVALID_ARGUMENT, NOT_FOUND,
 * UNAVAILABLE or INTERNAL), which carry no response message.
 */
export const CODE_OK = 200;

/** Methods of `CnfMetricsService` that only read; every other one writes and needs a credential. */
export const CNF_METRICS_READS: readonly string[] = ["ShowCnfMetric", "ListCnfMetrics"];

/** The handlers of `CnfMetricsService`, ready for `grpc.Server.addService`. */
export interface CnfMetricsHandlers extends grpc.UntypedServiceImplementation {
  /** Reads through the cache: NOT_FOUND, INVALID_ARGUMENT or UNAVAILABLE on failure. */
  ShowCnfMetric: grpc.handleUnaryCall<CnfMetricRequest, CnfMetricResponse>;
  /** Inserts or replaces, then invalidates everywhere: INVALID_ARGUMENT or UNAVAILABLE on failure. */
  CreateCnfMetric: grpc.handleUnaryCall<CnfMetricWriteRequest, CnfMetricResponse>;
  /** Replaces, then invalidates: NOT_FOUND, INVALID_ARGUMENT, UNIMPLEMENTED or UNAVAILABLE on failure. */
  UpdateCnfMetric: grpc.handleUnaryCall<CnfMetricWriteRequest, CnfMetricResponse>;
  /** Removes, then invalidates: NOT_FOUND, INVALID_ARGUMENT, UNIMPLEMENTED or UNAVAILABLE on failure. */
  DeleteCnfMetric: grpc.handleUnaryCall<CnfMetricRequest, CnfMetricResponse>;
  /** Pages through the repository (not the cache): INVALID_ARGUMENT or UNAVAILABLE on failure. */
  ListCnfMetrics: grpc.handleUnaryCall<ListCnfMetricsRequest, ListCnfMetricsResponse>;
}

/** A failure that already knows its gRPC status. */
class RpcError extends Error {
  constructor(readonly code: grpc.status, message: string) {
    super(message);
  }
}

/**
 * Builds the handlers of `CnfMetricsService` over a repository and the node's cache.
 *
 * @param deps The repository and the cache operations.
 * @returns The handlers.
 * @example
 * ```ts
 * const server = new grpc.Server();
 * server.addService(loadCnfMetricsProto(), cnfMetricsHandlers({ repo, get, invalidate }));
 * ```
 */
export function cnfMetricsHandlers(deps: CnfMetricsDeps): CnfMetricsHandlers {
  const { repo } = deps;

  async function show(
    { cnf_id }: CnfMetricRequest,
    call: grpc.ServerUnaryCall<unknown, unknown>,
  ): Promise<CnfMetricResponse> {
    const id = validateCnfId(cnf_id);
    const read = await deps.get(id).catch((err) => {
      throw asStatus(err, `metrics source unavailable for ${id}`);
    });
    if (read === null) throw new RpcError(grpc.status.NOT_FOUND, `cnf_id: no metric for "${id}"`);
    const bytes = read instanceof Uint8Array ? read : read.bytes;
    if (!(read instanceof Uint8Array) && read.stale) {
      const md = new grpc.Metadata();
      md.set(STALE_HEADER, "1");
      call.sendMetadata(md);
    }
    let metric;
    try {
      metric = fromJson(bytes);
    } catch (err) {
      throw new RpcError(grpc.status.INTERNAL, `cached value for ${id} is not a CnfMetric: ${err}`);
    }
    if (metric.cnfId !== id) {
      throw new RpcError(grpc.status.INTERNAL, `cached value for ${id} belongs to ${metric.cnfId}`);
    }
    return { metric: toMessage(metric), code: CODE_OK };
  }

  async function create({ metric }: CnfMetricWriteRequest): Promise<CnfMetricResponse> {
    const m = fromMessage(metric);
    await repo.upsert(m);
    await invalidateAfterWrite(m.cnfId);
    return { metric: toMessage(m), code: CODE_OK };
  }

  async function update({ metric }: CnfMetricWriteRequest): Promise<CnfMetricResponse> {
    if (repo.update === undefined) throw unimplemented("UpdateCnfMetric");
    const m = fromMessage(metric);
    if (!await repo.update(m)) {
      throw new RpcError(grpc.status.NOT_FOUND, `cnf_id: no metric for "${m.cnfId}" to update`);
    }
    await invalidateAfterWrite(m.cnfId);
    return { metric: toMessage(m), code: CODE_OK };
  }

  async function remove({ cnf_id }: CnfMetricRequest): Promise<CnfMetricResponse> {
    if (repo.delete === undefined) throw unimplemented("DeleteCnfMetric");
    const id = validateCnfId(cnf_id);
    if (!await repo.delete(id)) {
      throw new RpcError(grpc.status.NOT_FOUND, `cnf_id: no metric for "${id}" to delete`);
    }
    await invalidateAfterWrite(id);
    return { metric: null, code: CODE_OK };
  }

  async function list(req: ListCnfMetricsRequest): Promise<ListCnfMetricsResponse> {
    const size = pageSize(req.page_size);
    const after = decodePageToken(req.page_token);
    // One row more than asked shows whether another page follows, so the last page ends with "".
    const rows = await repo.list(after, size + 1);
    const page = rows.slice(0, size);
    const next = rows.length > size ? encodePageToken(page[page.length - 1].cnfId) : "";
    return { metrics: page.map(toMessage), next_page_token: next, code: CODE_OK };
  }

  // The row is already committed here; a client told UNAVAILABLE knows the write landed but reads may
  // serve the old value until the cache entry expires.
  async function invalidateAfterWrite(id: string): Promise<void> {
    try {
      await deps.invalidate(id);
    } catch (err) {
      throw new RpcError(
        grpc.status.UNAVAILABLE,
        `metric for ${id} was written but its cache entry could not be invalidated (reads may be stale ` +
          `until it expires): ${(err as Error).message}`,
      );
    }
  }

  return {
    ShowCnfMetric: unary(show),
    CreateCnfMetric: unary(create),
    UpdateCnfMetric: unary(update),
    DeleteCnfMetric: unary(remove),
    ListCnfMetrics: unary(list),
  };
}

function unary<Req, Res>(
  run: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    // Promise.try also catches a synchronous throw, so no failure escapes as an unhandled exception.
    Promise.try(() => run(call.request, call)).then(
      (res) => callback(null, res),
      (err) => {
        const e = asStatus(err, "metrics source unavailable");
        callback({ code: e.code, details: e.message });
      },
    );
  };
}

function asStatus(err: unknown, context: string): RpcError {
  if (err instanceof RpcError) return err;
  if (err instanceof CnfValidationError) return new RpcError(grpc.status.INVALID_ARGUMENT, err.message);
  return new RpcError(grpc.status.UNAVAILABLE, `${context}: ${(err as Error)?.message ?? err}`);
}

function unimplemented(rpc: string): RpcError {
  return new RpcError(grpc.status.UNIMPLEMENTED, `${rpc}: this node's repository does not support it`);
}

/** The options `cnfmetrics.proto` is loaded with; clients should use the same so messages match. */
export const CNF_PROTO_LOADER_OPTIONS: protoLoader.Options = Object.freeze({
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
});

let serviceDefinition: grpc.ServiceDefinition | undefined;

/**
 * Loads `proto/cnfmetrics.proto` (found relative to this module, not the working directory) once and
 * returns the definition of `cnfmetricspb.CnfMetricsService`.
 *
 * @returns The service definition, for `grpc.Server.addService` or `grpc.makeGenericClientConstructor`.
 * @example
 * ```ts
 * const Client = grpc.makeGenericClientConstructor(loadCnfMetricsProto(), "CnfMetricsService");
 * ```
 */
export function loadCnfMetricsProto(): grpc.ServiceDefinition {
  if (serviceDefinition === undefined) {
    const path = fileURLToPath(new URL("../../proto/cnfmetrics.proto", import.meta.url));
    const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(path, { ...CNF_PROTO_LOADER_OPTIONS }));
    const ns = pkg.cnfmetricspb as grpc.GrpcObject;
    serviceDefinition = (ns.CnfMetricsService as grpc.ServiceClientConstructor).service;
  }
  return serviceDefinition;
}
