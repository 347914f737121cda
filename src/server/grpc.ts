/**
 * The gRPC front door of a node (grpc-js): `groupcachepb.GroupCache` (Get, Set, Delete) and the standard
 * `grpc.health.v1.Health`. Other services (the CNF-metrics API) are added by the node.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { bodyTaken } from "../garbage.ts";
import { ByteView } from "../cache/byte_view.ts";
import type { Group } from "../cache/group.ts";
import type { NodeMetrics } from "../metrics.ts";
import { FORWARDED_HEADER, STALE_HEADER } from "../protocol.ts";
import { malformed, serviceClient, tolerantService } from "./proto.ts";
import { keyProblem, quote } from "./validate.ts";

/** What the GroupCache handlers need from the node. */
export interface GrpcDeps {
  groups: ReadonlyMap<string, Group>;
  maxKeyBytes: number;
  maxValueBytes: number;
  metrics: NodeMetrics;
}

type Callback = grpc.sendUnaryData<unknown>;
type Call = grpc.ServerUnaryCall<Record<string, unknown>, unknown>;

/**
 * Marks a call's answer as stale (served past its expiry because the reload failed) in its response
 * metadata, as HTTP does with a header.
 */
export function markStale(call: grpc.ServerUnaryCall<unknown, unknown>): void {
  const md = new grpc.Metadata();
  md.set(STALE_HEADER, "1");
  call.sendMetadata(md);
}

/** A gRPC status error with a message for the client. */
export function status(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
}

interface Target {
  group: Group;
  key: string;
  local: boolean;
}

/**
 * Validates the group and key of a request; returns the error to send, or the target. Credentials are
 * checked before, by the guard the node puts in front of the service.
 */
function target(deps: GrpcDeps, call: Call): Target | grpc.ServiceError {
  const req = call.request;
  const broken = malformed(req);
  if (broken !== undefined) {
    return status(grpc.status.INVALID_ARGUMENT, `malformed request message: ${broken}`);
  }
  const groupName = String(req.group ?? "");
  if (groupName === "") return status(grpc.status.INVALID_ARGUMENT, "group must not be empty");
  const group = deps.groups.get(groupName);
  if (!group) return status(grpc.status.NOT_FOUND, `unknown group ${quote(groupName)}`);
  const key = String(req.key ?? "");
  const problem = keyProblem(key, deps.maxKeyBytes);
  if (problem) return status(grpc.status.INVALID_ARGUMENT, problem);
  return { group, key, local: call.metadata.get(FORWARDED_HEADER).length > 0 };
}

/** Wraps a handler: errors it throws become UNAVAILABLE, and every call is timed under `op`. */
export function unary(
  metrics: NodeMetrics,
  op: string,
  fn: (call: Call) => Promise<unknown>,
): grpc.handleUnaryCall<Record<string, unknown>, unknown> {
  return (call: Call, callback: Callback) => settle(metrics, op, fn(call), callback);
}

/** Answers a call once `pending` settles, counting and timing it from now; errors become statuses. */
function settle(metrics: NodeMetrics, op: string, pending: Promise<unknown>, callback: Callback): void {
  const started = performance.now();
  const done = (err: grpc.ServiceError | null, value?: unknown) => {
    metrics.request("grpc", op, err ? grpc.status[err.code] : "OK", (performance.now() - started) / 1000);
    callback(err, value);
  };
  pending.then(
    (value) => done(null, value),
    (e) => done(isStatus(e) ? e : status(grpc.status.UNAVAILABLE, `unavailable: ${(e as Error).message}`)),
  );
}

function isStatus(e: unknown): e is grpc.ServiceError {
  return e instanceof Error && typeof (e as grpc.ServiceError).code === "number";
}

/** The GroupCache service definition, tolerant of malformed messages. */
export function groupCacheService(): grpc.ServiceDefinition {
  return tolerantService(serviceClient("groupcache.proto", "groupcachepb.GroupCache").service);
}

/** Methods of `groupcachepb.GroupCache` that only read; the others write and need a credential. */
export const GROUP_CACHE_READS: readonly string[] = ["Get"];

/** Handlers of `groupcachepb.GroupCache`, to be put behind the node's credential guard. */
export function groupCacheHandlers(deps: GrpcDeps): grpc.UntypedServiceImplementation {
  const resolve = (call: Call): Target => {
    const t = target(deps, call);
    if (t instanceof Error) throw t;
    return t;
  };
  const getHits = deps.metrics.requestCounter("grpc", "Get", "OK");
  return {
    Get: (call: Call, callback: Callback) => {
      // A hit is answered at once and only counted, as over HTTP: no promise, no timer, no map walk.
      // Its cost beyond a bare grpc-js handler: validating the request (a symbol read, two String(),
      // a Map lookup, a length check and a metadata lookup), the cache lookup and a copy of the value
      // (grpc-js may serialize after this returns, so the cached bytes are not lent). A cached value is
      // never past its expiry (the cache drops it), so only a loaded one can answer stale.
      const t = target(deps, call);
      if (t instanceof Error) return settle(deps.metrics, "Get", Promise.reject(t), callback);
      const { group, key, local } = t;
      const cached = group.getCached(key);
      if (cached) {
        getHits.count++;
        return callback(null, { value: cached.toBytes(), minute_qps: 0, expire_unix_ms: cached.expiresAt });
      }
      const pending = cached === null ? Promise.resolve(null) : group.load(key, { local });
      settle(
        deps.metrics,
        "Get",
        pending.then((view) => {
          if (!view) {
            throw status(
              grpc.status.NOT_FOUND,
              `no value for key ${quote(key)} in group ${quote(group.name)}`,
            );
          }
          if (group.isStale(view)) markStale(call);
          return { value: view.toBytes(), minute_qps: 0, expire_unix_ms: view.expiresAt };
        }),
        callback,
      );
    },
    Set: unary(deps.metrics, "Set", async (call) => {
      const { group, key, local } = resolve(call);
      const value = call.request.value as Uint8Array;
      if (value.byteLength > deps.maxValueBytes) {
        throw status(
          grpc.status.INVALID_ARGUMENT,
          `value is ${value.byteLength} bytes; the limit is ${deps.maxValueBytes}`,
        );
      }
      const ttl = Number(call.request.ttl_ms ?? 0);
      if (!Number.isSafeInteger(ttl) || ttl < 0) {
        throw status(grpc.status.INVALID_ARGUMENT, `ttl_ms must be a non-negative integer (got ${ttl})`);
      }
      // The decoded message is this call's alone: the view takes its bytes without a copy.
      bodyTaken(value.byteLength);
      await group.set(key, ByteView.adopt(value), { ttlMs: ttl === 0 ? undefined : ttl, local });
      return {};
    }),
    Delete: unary(deps.metrics, "Delete", async (call) => {
      const { group, key, local } = resolve(call);
      await group.delete(key, { local });
      return {};
    }),
  };
}
