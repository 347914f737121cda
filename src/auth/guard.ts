/**
 * The credential check in front of both servers: a refusal is counted and answered without the token,
 * and a write that is let in is counted by client and leaves one audit line in the log.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import type { Scope } from "../config.ts";
import { log } from "../log.ts";
import type { NodeMetrics } from "../metrics.ts";
import { AUTHORIZATION } from "./bearer.ts";
import type { Credentials, Refusal } from "./credentials.ts";

/** What the check needs from the node. */
export interface Guard {
  credentials: Credentials;
  metrics: NodeMetrics;
}

/** What an audit line says a write was about: group and key, or the CNF id. */
export type AuditTarget = Record<string, string>;

/** Longest target value written to the log, so a junk key cannot bloat it. */
const MAX_LOGGED = 256;

function clip(s: string): string {
  return s.length > MAX_LOGGED ? `${s.slice(0, MAX_LOGGED)}…` : s;
}

/**
 * Writes the audit line of one write that was let in: event "write", with the client's name (never its
 * token), the protocol, the operation, its target and how it ended.
 *
 * @param client The client's name, or "peer".
 * @param protocol "http" or "grpc".
 * @param op The operation, e.g. "PUT" or "CreateCnfMetric".
 * @param target The group and key, or the CNF id.
 * @param code The HTTP status or gRPC status name it was answered with.
 */
export function audit(
  client: string,
  protocol: string,
  op: string,
  target: AuditTarget,
  code: number | string,
): void {
  const ok = typeof code === "number" ? code < 300 : code === "OK";
  const clipped = Object.fromEntries(Object.entries(target).map(([k, v]) => [k, clip(v)]));
  log("info", "write", { client, protocol, op, ...clipped, outcome: ok ? "ok" : "error", code });
}

function refused(guard: Guard, protocol: string, refusal: Refusal): void {
  guard.metrics.authFailure(protocol, refusal.reason);
  log("debug", "request refused", { protocol, reason: refusal.reason, client: refusal.client });
}

/**
 * Checks an HTTP request for `scope`.
 *
 * @returns The client's name, or the 401 (403 for a missing scope) to answer with.
 */
export function checkHttp(guard: Guard, req: Request, scope: Scope): string | Response {
  const who = guard.credentials.authorize(req.headers.get(AUTHORIZATION) ?? undefined, scope);
  if (typeof who === "string") return who;
  refused(guard, "http", who);
  const scopeMissing = who.reason === "scope";
  const challenge = scopeMissing
    ? 'Bearer error="insufficient_scope"'
    : who.reason === "missing" || who.reason === "disabled"
    ? "Bearer"
    : 'Bearer error="invalid_token"';
  return new Response(who.message + "\n", {
    status: scopeMissing ? 403 : 401,
    headers: { "content-type": "text/plain; charset=utf-8", "www-authenticate": challenge },
  });
}

function grpcError(refusal: Refusal): grpc.ServiceError {
  const code = refusal.reason === "scope" ? grpc.status.PERMISSION_DENIED : grpc.status.UNAUTHENTICATED;
  return Object.assign(new Error(refusal.message), {
    code,
    details: refusal.message,
    metadata: new grpc.Metadata(),
  });
}

function grpcTarget(req: unknown): AuditTarget {
  const out: AuditTarget = {};
  if (!req || typeof req !== "object") return out;
  const r = req as Record<string, unknown>;
  for (const k of ["group", "key", "cnf_id"]) if (typeof r[k] === "string") out[k] = r[k] as string;
  const metric = r.metric as Record<string, unknown> | null | undefined;
  if (metric && typeof metric.cnf_id === "string") out.cnf_id = metric.cnf_id;
  return out;
}

type Unary = grpc.handleUnaryCall<unknown, unknown>;

/**
 * Puts the credential check in front of every method of a gRPC service. Methods named in `reads` need
 * the read scope, and only when reads require a token (otherwise they are left exactly as they were);
 * every other method, including any added later, is a write.
 *
 * @param impl The service's unary handlers.
 * @param reads The methods that only read.
 * @param guard The node's credentials and metrics.
 * @returns The guarded handlers.
 */
export function guardService(
  impl: grpc.UntypedServiceImplementation,
  reads: readonly string[],
  guard: Guard,
): grpc.UntypedServiceImplementation {
  const out: grpc.UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(impl)) {
    const run = handler as Unary;
    const scope: Scope = reads.includes(name) ? "read" : "write";
    if (scope === "read" && !guard.credentials.readsRequireToken) {
      out[name] = handler;
      continue;
    }
    out[name] = ((call, callback) => {
      const value = call.metadata.get(AUTHORIZATION)[0];
      const who = guard.credentials.authorize(value === undefined ? undefined : String(value), scope);
      if (typeof who !== "string") {
        refused(guard, "grpc", who);
        callback(grpcError(who));
        return;
      }
      if (scope === "read") return run(call, callback);
      guard.metrics.writeAccepted(who, "grpc");
      const target = grpcTarget(call.request);
      run(call, (err, res) => {
        audit(who, "grpc", name, target, err ? grpc.status[err.code ?? grpc.status.UNKNOWN] : "OK");
        callback(err, res);
      });
    }) as Unary;
  }
  return out;
}
