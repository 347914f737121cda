/**
 * `distcache.v1.Batch/GetMany`: many keys of a group in one gRPC call, each answered as a single
 * `groupcachepb.GroupCache/Get` of it would be.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import type { Group } from "../cache/group.ts";
import type { NodeMetrics } from "../metrics.ts";
import { FORWARDED_HEADER } from "../protocol.ts";
import { BatchLimitError, type BatchLimits, type BatchOutcome, readBatch } from "./batch.ts";
import { markStale, status, unary } from "./grpc.ts";
import { malformed, serviceClient, tolerantService } from "./proto.ts";

/** What GetMany needs from the node. */
export interface GrpcBatchDeps extends BatchLimits {
  groups: ReadonlyMap<string, Group>;
  metrics: NodeMetrics;
}

/** `distcache.v1.KeyResult` as the handler sends it. */
export interface KeyResultMessage {
  key: string;
  code: number;
  value: Uint8Array;
  expire_unix_ms: number;
  stale: boolean;
  error: string;
}

/** The gRPC status code a single read would end with, for each kind of batch outcome. */
export const OUTCOME_CODES: Record<BatchOutcome["kind"], grpc.status> = {
  value: grpc.status.OK,
  not_found: grpc.status.NOT_FOUND,
  invalid: grpc.status.INVALID_ARGUMENT,
  unavailable: grpc.status.UNAVAILABLE,
};

/** The methods of `distcache.v1.Batch` that only read (all of them), for the credential guard. */
export const BATCH_READS: readonly string[] = ["GetMany"];

/** The Batch service definition, tolerant of malformed messages. */
export function batchService(): grpc.ServiceDefinition {
  return tolerantService(serviceClient("distcache_batch.proto", "distcache.v1.Batch").service);
}

/**
 * Reads a batch, turning a limit it exceeds into INVALID_ARGUMENT and marking the call stale when any
 * value is.
 */
export async function readBatchCall(
  call: grpc.ServerUnaryCall<unknown, unknown>,
  group: Group,
  keys: readonly string[],
  limits: BatchLimits,
  local: boolean,
): Promise<BatchOutcome[]> {
  let outcomes: BatchOutcome[];
  try {
    outcomes = await readBatch(group, keys, limits, local);
  } catch (e) {
    if (e instanceof BatchLimitError) throw status(grpc.status.INVALID_ARGUMENT, e.message);
    throw e;
  }
  if (outcomes.some((o) => o.kind === "value" && o.stale)) markStale(call);
  return outcomes;
}

/** Handlers of `distcache.v1.Batch`. */
export function batchHandlers(deps: GrpcBatchDeps): grpc.UntypedServiceImplementation {
  return {
    GetMany: unary(deps.metrics, "GetMany", async (call) => {
      const req = call.request;
      const broken = malformed(req);
      if (broken !== undefined) {
        throw status(grpc.status.INVALID_ARGUMENT, `malformed request message: ${broken}`);
      }
      const groupName = String(req.group ?? "");
      if (groupName === "") throw status(grpc.status.INVALID_ARGUMENT, "group must not be empty");
      const group = deps.groups.get(groupName);
      if (!group) throw status(grpc.status.NOT_FOUND, `unknown group "${groupName}"`);
      const keys = (req.keys ?? []) as string[];
      const local = call.metadata.get(FORWARDED_HEADER).length > 0;
      const outcomes = await readBatchCall(call, group, keys, deps, local);
      return { results: outcomes.map(toMessage) };
    }),
  };
}

function toMessage(o: BatchOutcome): KeyResultMessage {
  const out = {
    key: o.key,
    code: OUTCOME_CODES[o.kind],
    value: EMPTY,
    expire_unix_ms: 0,
    stale: false,
    error: "",
  };
  if (o.kind === "value") {
    out.value = o.value.toBytes();
    out.expire_unix_ms = o.value.expiresAt;
    out.stale = o.stale;
  } else if (o.kind !== "not_found") {
    out.error = o.error;
  }
  return out;
}

const EMPTY = new Uint8Array(0);
