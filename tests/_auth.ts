/**
 * Test helpers for credentials: a node configuration written to a temporary directory, and unary gRPC
 * calls with an optional token that resolve to the status instead of throwing.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { stringify } from "yaml";
import { AUTHORIZATION } from "../src/auth/bearer.ts";
import { loadCnfMetricsProto } from "../src/cnf/service.ts";
import { serviceClient } from "../src/server/proto.ts";

/** A temporary directory holding `config.yml` (and any token files a test writes there). */
export interface TempConfig {
  dir: string;
  /** The config file, for `--config`. */
  path: string;
  remove(): Promise<void>;
}

/** Writes `doc` (sections of config/config.yml; defaults fill the rest) as a configuration file. */
export async function tempConfig(doc: Record<string, unknown>): Promise<TempConfig> {
  const dir = await Deno.makeTempDir({ prefix: "distcache-auth-" });
  const path = `${dir}/config.yml`;
  await Deno.writeTextFile(path, stringify(doc));
  return { dir, path, remove: () => Deno.remove(dir, { recursive: true }).catch(() => {}) };
}

/** The outcome of one gRPC call. */
export interface CallResult {
  code: grpc.status;
  details: string;
  /** Everything the server sent back as text (details and trailing metadata), for leak checks. */
  text: string;
  res: Record<string, unknown> | undefined;
}

type Unary = (
  req: unknown,
  md: grpc.Metadata,
  cb: (e: grpc.ServiceError | null, res?: Record<string, unknown>) => void,
) => void;

/** Calls `method` with `authorization` set to `auth` (a whole header value) when given. */
export function call(client: grpc.Client, method: string, req: unknown, auth?: string): Promise<CallResult> {
  const md = new grpc.Metadata();
  if (auth !== undefined) md.set(AUTHORIZATION, auth);
  return new Promise((resolve) =>
    (client as unknown as Record<string, Unary>)[method].call(client, req, md, (e, res) =>
      resolve({
        code: e?.code ?? grpc.status.OK,
        details: e?.details ?? "",
        text: `${e?.details ?? ""} ${JSON.stringify(e?.metadata?.getMap() ?? {})}`,
        res,
      }))
  );
}

/** A `groupcachepb.GroupCache` client. */
export function cacheClient(address: string): grpc.Client {
  const Client = serviceClient("groupcache.proto", "groupcachepb.GroupCache");
  return new Client(address, grpc.credentials.createInsecure());
}

/** A `cnfmetricspb.CnfMetricsService` client. */
export function cnfClient(address: string): grpc.Client {
  const Client = grpc.makeGenericClientConstructor(loadCnfMetricsProto(), "CnfMetricsService");
  return new Client(address, grpc.credentials.createInsecure());
}

/** A CnfMetric message for CreateCnfMetric. */
export function metricMessage(cnfId: string, value: number): Record<string, unknown> {
  return {
    cnf_id: cnfId,
    timestamp: { seconds: 1_764_000_000, nanos: 0 },
    metric_type: "Auth Test",
    value,
    unit: "ms",
    status: "ok",
  };
}

/** The JSON log lines of a node whose event is `event`. */
export function logEvents(log: string, event: string): Record<string, unknown>[] {
  return log.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l))
    .filter((l) => l.event === event).map((l) => l.fields);
}
