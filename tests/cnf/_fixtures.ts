/**
 * Shared test data for the CNF tests.
 * @module
 */
import type { CnfMetric } from "../../src/cnf/cnf_metric.ts";

/** Returns a valid metric for a CNF outside the seed range, with `overrides` applied. */
export function sampleMetric(overrides: Partial<CnfMetric> = {}): CnfMetric {
  return {
    cnfId: "CNF-900",
    timestamp: new Date("2025-06-01T12:34:56.789Z"),
    metricType: "Egress Latency",
    value: 12.5,
    unit: "ms",
    status: "Normal",
    ...overrides,
  };
}

/** Ids shaped like SQL injection or other abuse; each must be rejected before reaching a database. */
export const HOSTILE_IDS: readonly string[] = [
  "CNF-001' OR '1'='1",
  "CNF-001'; DROP TABLE cnf_metric; --",
  'CNF-001" --',
  "CNF-001\u0000",
  "CNF 001",
  "CNF-001/../x",
  "%",
  "",
  "x".repeat(65),
  "CNF-ÄÖ",
];
