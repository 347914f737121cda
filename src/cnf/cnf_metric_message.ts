/**
 * Converts between {@linkcode CnfMetric} and the `cnfmetricspb.CnfMetric` message as @grpc/proto-loader
 * presents it (keepCase, longs as strings, defaults on): snake_case fields and a `{seconds, nanos}`
 * timestamp.
 * @module
 */
import { type CnfMetric, CnfValidationError, validateCnfMetric } from "./cnf_metric.ts";

/** `google.protobuf.Timestamp` as decoded with `longs: String`; numbers are accepted on encode. */
export interface TimestampMessage {
  /** Whole seconds since the Unix epoch, as a decimal string (or a number). */
  seconds: string | number;
  /** Nanoseconds within the second, 0-999,999,999. */
  nanos: number;
}

/** `cnfmetricspb.CnfMetric` on the wire, field names as in the .proto file. */
export interface CnfMetricMessage {
  /** See {@linkcode CnfMetric.cnfId}. */
  cnf_id: string;
  /** `null` when the sender left it unset. */
  timestamp: TimestampMessage | null;
  /** See {@linkcode CnfMetric.metricType}. */
  metric_type: string;
  /** See {@linkcode CnfMetric.value}. */
  value: number;
  /** See {@linkcode CnfMetric.unit}. */
  unit: string;
  /** See {@linkcode CnfMetric.status}. */
  status: string;
}

/**
 * Encodes a metric as a message.
 *
 * @param m The metric.
 * @returns The message, its timestamp split into seconds and nanos.
 * @example
 * ```ts
 * toMessage(metric).timestamp; // { seconds: "1735689660", nanos: 0 }
 * ```
 */
export function toMessage(m: CnfMetric): CnfMetricMessage {
  const ms = m.timestamp.getTime();
  const seconds = Math.floor(ms / 1000);
  return {
    cnf_id: m.cnfId,
    timestamp: { seconds: String(seconds), nanos: (ms - seconds * 1000) * 1_000_000 },
    metric_type: m.metricType,
    value: m.value,
    unit: m.unit,
    status: m.status,
  };
}

/**
 * Decodes and validates a message from a client. Sub-millisecond precision is dropped, since the metric
 * and both databases keep milliseconds.
 *
 * @param msg The message as received; may be `null` or `undefined` when the field was unset.
 * @returns The validated metric.
 * @throws {CnfValidationError} Naming the first missing or bad field.
 * @example
 * ```ts
 * const m = fromMessage(call.request.metric);
 * ```
 */
export function fromMessage(msg: CnfMetricMessage | null | undefined): CnfMetric {
  if (msg === null || msg === undefined) {
    throw new CnfValidationError("metric", "a CnfMetric message", msg);
  }
  return validateCnfMetric({
    cnfId: msg.cnf_id,
    timestamp: fromTimestamp(msg.timestamp),
    metricType: msg.metric_type,
    value: msg.value,
    unit: msg.unit,
    status: msg.status,
  });
}

function fromTimestamp(t: TimestampMessage | null): Date {
  const expected = "a google.protobuf.Timestamp with integer seconds and nanos in 0-999999999";
  if (t === null || t === undefined) throw new CnfValidationError("timestamp", expected, t);
  const seconds = Number(t.seconds);
  const nanos = t.nanos;
  if (!Number.isSafeInteger(seconds) || !Number.isInteger(nanos) || nanos < 0 || nanos > 999_999_999) {
    throw new CnfValidationError("timestamp", expected, t);
  }
  return new Date(seconds * 1000 + Math.floor(nanos / 1_000_000));
}
