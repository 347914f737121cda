/**
 * `distcache.v1.CnfMetricsBatch/ShowCnfMetrics`: the metrics of many CNFs in one call, each read through
 * the cache (group `metrics`) as `cnfmetricspb.CnfMetricsService/ShowCnfMetric` reads one.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import type { Group } from "../cache/group.ts";
import { fromJson, validateCnfId } from "../cnf/cnf_metric.ts";
import { type CnfMetricMessage, toMessage } from "../cnf/cnf_metric_message.ts";
import type { NodeMetrics } from "../metrics.ts";
import type { BatchLimits, BatchOutcome } from "./batch.ts";
import { checkBatchKeys } from "./batch.ts";
import { OUTCOME_CODES, readBatchCall } from "./grpc_batch.ts";
import { status, unary } from "./grpc.ts";
import { malformed, serviceClient, tolerantService } from "./proto.ts";

/** What ShowCnfMetrics needs from the node. */
export interface CnfBatchDeps extends BatchLimits {
  /** The group whose values are CNF metrics' JSON. */
  metrics: Group;
  /** Where calls are counted and timed. */
  nodeMetrics: NodeMetrics;
}

/** `distcache.v1.CnfMetricResult` as the handler sends it. */
export interface CnfMetricResultMessage {
  cnf_id: string;
  code: number;
  metric: CnfMetricMessage | null;
  stale: boolean;
  error: string;
}

/** The methods of `distcache.v1.CnfMetricsBatch` that only read (all of them), for the credential guard. */
export const CNF_BATCH_READS: readonly string[] = ["ShowCnfMetrics"];

/** The CnfMetricsBatch service definition, tolerant of malformed messages. */
export function cnfBatchService(): grpc.ServiceDefinition {
  return tolerantService(serviceClient("distcache_batch.proto", "distcache.v1.CnfMetricsBatch").service);
}

/** Handlers of `distcache.v1.CnfMetricsBatch`. */
export function cnfBatchHandlers(deps: CnfBatchDeps): grpc.UntypedServiceImplementation {
  return {
    ShowCnfMetrics: unary(deps.nodeMetrics, "ShowCnfMetrics", async (call) => {
      const broken = malformed(call.request);
      if (broken !== undefined) {
        throw status(grpc.status.INVALID_ARGUMENT, `malformed request message: ${broken}`);
      }
      const ids = (call.request.cnf_ids ?? []) as string[];
      try {
        checkBatchKeys(ids.length, deps);
      } catch (e) {
        throw status(grpc.status.INVALID_ARGUMENT, (e as Error).message);
      }
      const problems = ids.map(idProblem);
      const valid = ids.filter((_, i) => problems[i] === undefined);
      const outcomes = await readBatchCall(call, deps.metrics, valid, deps, false);
      let at = 0;
      const results = ids.map((id, i): CnfMetricResultMessage => {
        const problem = problems[i];
        if (problem !== undefined) {
          return {
            cnf_id: id,
            code: grpc.status.INVALID_ARGUMENT,
            metric: null,
            stale: false,
            error: problem,
          };
        }
        return toResult(outcomes[at++]);
      });
      return { results };
    }),
  };
}

function idProblem(id: string): string | undefined {
  try {
    validateCnfId(id);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

function toResult(o: BatchOutcome): CnfMetricResultMessage {
  const out: CnfMetricResultMessage = {
    cnf_id: o.key,
    code: OUTCOME_CODES[o.kind],
    metric: null,
    stale: false,
    error: "",
  };
  if (o.kind === "value") {
    try {
      const metric = fromJson(o.value.toBytes());
      if (metric.cnfId !== o.key) throw new Error(`it belongs to ${metric.cnfId}`);
      out.metric = toMessage(metric);
      out.stale = o.stale;
    } catch (e) {
      out.code = grpc.status.INTERNAL;
      out.error = `cached value for ${o.key} is not its CnfMetric: ${(e as Error).message}`;
    }
  } else if (o.kind !== "not_found") {
    out.error = o.error;
  }
  return out;
}
