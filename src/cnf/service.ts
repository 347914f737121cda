/**
 * The gRPC service `cnfmetricspb.CnfMetricsService`: reads go through the cache, writes go to the
 * repository and then drop the cached entry, and every failure becomes a gRPC status naming the cause.
 * @module
 */
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { CnfValidationError, fromJson, validateCnfId } from "./cnf_metric.ts";
import { CnfExistsError } from "./cnf_exists_error.ts";
import { type CnfMetricMessage, fromMessage, toMessage } from "./cnf_metric_message.ts";
import type { CnfRepository } from "./repository.ts";

/** What the handlers need from the node. */
export interface CnfMetricsDeps {
  /** The source of truth, written by Create, Update and Delete. */
  repo: CnfRepository;
  /** Reads a CNF's cached JSON value (group `metrics`), loading it on a miss; `null` if it has none. */
  get: (cnfId: string) => Promise<Uint8Array | null>;
  /** Drops a CNF's cached value everywhere after a write, so the next read loads the new row. */
  invalidate: (cnfId: string) => Promise<void>;
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
  /** Always 0 (success): failures travel as gRPC status codes instead. */
  code: number;
}

/** The handlers of `CnfMetricsService`, ready for `grpc.Server.addService`. */
export interface CnfMetricsHandlers extends grpc.UntypedServiceImplementation {
  /** Reads through the cache: NOT_FOUND, INVALID_ARGUMENT or UNAVAILABLE on failure. */
  ShowCnfMetric: grpc.handleUnaryCall<CnfMetricRequest, CnfMetricResponse>;
  /** Inserts, then invalidates: ALREADY_EXISTS, INVALID_ARGUMENT or UNAVAILABLE on failure. */
  CreateCnfMetric: grpc.handleUnaryCall<CnfMetricWriteRequest, CnfMetricResponse>;
  /** Replaces, then invalidates: NOT_FOUND, INVALID_ARGUMENT, UNIMPLEMENTED or UNAVAILABLE on failure. */
  UpdateCnfMetric: grpc.handleUnaryCall<CnfMetricWriteRequest, CnfMetricResponse>;
  /** Removes, then invalidates: NOT_FOUND, INVALID_ARGUMENT, UNIMPLEMENTED or UNAVAILABLE on failure. */
  DeleteCnfMetric: grpc.handleUnaryCall<CnfMetricRequest, CnfMetricResponse>;
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

  async function show({ cnf_id }: CnfMetricRequest): Promise<CnfMetricResponse> {
    const id = validateCnfId(cnf_id);
    const bytes = await deps.get(id).catch((err) => {
      throw asStatus(err, `metrics source unavailable for ${id}`);
    });
    if (bytes === null) throw new RpcError(grpc.status.NOT_FOUND, `cnf_id: no metric for "${id}"`);
    let metric;
    try {
      metric = fromJson(bytes);
    } catch (err) {
      throw new RpcError(grpc.status.INTERNAL, `cached value for ${id} is not a CnfMetric: ${err}`);
    }
    if (metric.cnfId !== id) {
      throw new RpcError(grpc.status.INTERNAL, `cached value for ${id} belongs to ${metric.cnfId}`);
    }
    return { metric: toMessage(metric), code: 0 };
  }

  async function create({ metric }: CnfMetricWriteRequest): Promise<CnfMetricResponse> {
    const m = fromMessage(metric);
    await repo.create(m);
    await invalidateAfterWrite(m.cnfId);
    return { metric: toMessage(m), code: 0 };
  }

  async function update({ metric }: CnfMetricWriteRequest): Promise<CnfMetricResponse> {
    if (repo.update === undefined) throw unimplemented("UpdateCnfMetric");
    const m = fromMessage(metric);
    if (!await repo.update(m)) {
      throw new RpcError(grpc.status.NOT_FOUND, `cnf_id: no metric for "${m.cnfId}" to update`);
    }
    await invalidateAfterWrite(m.cnfId);
    return { metric: toMessage(m), code: 0 };
  }

  async function remove({ cnf_id }: CnfMetricRequest): Promise<CnfMetricResponse> {
    if (repo.delete === undefined) throw unimplemented("DeleteCnfMetric");
    const id = validateCnfId(cnf_id);
    if (!await repo.delete(id)) {
      throw new RpcError(grpc.status.NOT_FOUND, `cnf_id: no metric for "${id}" to delete`);
    }
    await invalidateAfterWrite(id);
    return { metric: null, code: 0 };
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
  };
}

function unary<Req, Res>(run: (req: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    // Promise.try also catches a synchronous throw, so no failure escapes as an unhandled exception.
    Promise.try(() => run(call.request)).then(
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
  if (err instanceof CnfExistsError) return new RpcError(grpc.status.ALREADY_EXISTS, err.message);
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
