/**
 * The `cnf_metric` row as both SQL repositories read and write it; they differ only in how a timestamp
 * is stored.
 * @module
 */
import { type CnfMetric, validateCnfMetric } from "./cnf_metric.ts";

/** A `cnf_metric` row as the driver returns it. */
export interface CnfRow {
  cnf_id: string;
  timestamp: string;
  metric_type: string;
  value: number;
  unit: string;
  status: string;
}

/** The row's columns, in the order of {@linkcode toParams}. */
export const COLUMNS = ["cnf_id", "timestamp", "metric_type", "value", "unit", "status"] as const;

/** The values of an INSERT, in column order, with the timestamp as the store writes it. */
export function toParams(m: CnfMetric, timestamp: string): [string, string, string, number, string, string] {
  return [m.cnfId, timestamp, m.metricType, m.value, m.unit, m.status];
}

/**
 * Reads a row back into a metric. Rows are validated on the way out too: a row written by another
 * program must not put a value into the cache that breaks the JSON contract.
 */
export function fromRow(r: CnfRow, timestamp: Date): CnfMetric {
  return validateCnfMetric({
    cnfId: r.cnf_id,
    timestamp,
    metricType: r.metric_type,
    value: r.value,
    unit: r.unit,
    status: r.status,
  });
}

/** Checks the page size given to `CnfRepository.list`: a programming error, not bad client input. */
export function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new RangeError(`limit: expected a positive integer, got ${limit}`);
  }
}
