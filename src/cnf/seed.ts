/**
 * The seed data of table `cnf_metric`: CNF-001..CNF-100. Every node computes the same rows from a fixed
 * formula (no clock, no randomness), so any node may seed an empty database and all agree on its content.
 * @module
 */
import type { CnfMetric, CnfStatus } from "./cnf_metric.ts";

/** The number of rows {@linkcode seedMetrics} returns. */
export const SEED_SIZE = 100;

// A fixed instant rather than the clock, so every node seeds byte-identical rows.
const SEED_EPOCH_MS = Date.UTC(2025, 0, 1, 0, 0, 0);
const MINUTE_MS = 60_000;

type Sample = Omit<CnfMetric, "cnfId" | "timestamp">;

// Ten hand-picked CNFs whose values tell a story in a demo: mostly healthy, a hot CPU, an error spike.
const NAMED: readonly Sample[] = [
  { metricType: "Ingress Latency", value: 20, unit: "ms", status: "Normal" },
  { metricType: "Egress Packet Loss", value: 0.02, unit: "%", status: "Normal" },
  { metricType: "Container CPU Utilization", value: 85, unit: "%", status: "Warning" },
  { metricType: "Container Memory Utilization", value: 62.5, unit: "%", status: "Normal" },
  { metricType: "User Plane Throughput", value: 9.6, unit: "Gbps", status: "Normal" },
  { metricType: "Active PDU Sessions", value: 48213, unit: "sessions", status: "Normal" },
  { metricType: "Pod Restart Count", value: 7, unit: "restarts", status: "Warning" },
  { metricType: "Packet Jitter", value: 3.4, unit: "ms", status: "Normal" },
  { metricType: "HTTP/2 5xx Error Rate", value: 6.8, unit: "%", status: "Critical" },
  { metricType: "Security Inspection Rate", value: 3000, unit: "packets/sec", status: "Normal" },
];

/** A metric family for generated rows: its plausible range and the levels that raise its status. */
interface Family {
  metricType: string;
  unit: string;
  min: number;
  max: number;
  warnAt: number;
  critAt: number;
  decimals: number;
  /** Whether low values are the bad ones (throughput), rather than high ones (latency). */
  lowIsBad?: boolean;
}

const FAMILIES: readonly Family[] = [
  { metricType: "Ingress Latency", unit: "ms", min: 2, max: 120, warnAt: 50, critAt: 100, decimals: 1 },
  { metricType: "Egress Packet Loss", unit: "%", min: 0, max: 3, warnAt: 0.5, critAt: 2, decimals: 3 },
  {
    metricType: "Container CPU Utilization",
    unit: "%",
    min: 5,
    max: 99,
    warnAt: 80,
    critAt: 95,
    decimals: 1,
  },
  {
    metricType: "Container Memory Utilization",
    unit: "%",
    min: 10,
    max: 98,
    warnAt: 85,
    critAt: 95,
    decimals: 1,
  },
  {
    metricType: "User Plane Throughput",
    unit: "Gbps",
    min: 0.5,
    max: 40,
    warnAt: 2,
    critAt: 1,
    decimals: 2,
    lowIsBad: true,
  },
  {
    metricType: "Active PDU Sessions",
    unit: "sessions",
    min: 0,
    max: 200000,
    warnAt: 150000,
    critAt: 190000,
    decimals: 0,
  },
  { metricType: "Packet Jitter", unit: "ms", min: 0.1, max: 25, warnAt: 10, critAt: 20, decimals: 2 },
  { metricType: "HTTP/2 5xx Error Rate", unit: "%", min: 0, max: 8, warnAt: 1, critAt: 5, decimals: 2 },
];

/**
 * Returns the seed rows CNF-001..CNF-100 in id order: ten named CNFs, then 90 generated ones whose values
 * come from a fixed hash of the row number. Each call returns fresh objects the caller may change.
 *
 * @returns {@linkcode SEED_SIZE} metrics, identical on every call and every node.
 * @example
 * ```ts
 * const rows = seedMetrics();
 * rows[0].metricType; // "Ingress Latency"
 * ```
 */
export function seedMetrics(): CnfMetric[] {
  const rows: CnfMetric[] = [];
  for (let n = 1; n <= SEED_SIZE; n++) {
    const sample = n <= NAMED.length ? { ...NAMED[n - 1] } : generated(n);
    rows.push({
      cnfId: `CNF-${String(n).padStart(3, "0")}`,
      // Staggered a minute apart so rows are distinguishable by time, as real samples would be.
      timestamp: new Date(SEED_EPOCH_MS + n * MINUTE_MS),
      ...sample,
    });
  }
  return rows;
}

function generated(n: number): Sample {
  const family = FAMILIES[n % FAMILIES.length];
  const scale = 10 ** family.decimals;
  const raw = family.min + unitHash(n) * (family.max - family.min);
  const value = Math.round(raw * scale) / scale;
  return { metricType: family.metricType, value, unit: family.unit, status: statusOf(family, value) };
}

function statusOf(f: Family, value: number): CnfStatus {
  const worse = (a: number, b: number) => f.lowIsBad ? a <= b : a >= b;
  if (worse(value, f.critAt)) return "Critical";
  if (worse(value, f.warnAt)) return "Warning";
  return "Normal";
}

/** Maps a row number to [0, 1) by multiplicative hashing, spreading neighbouring rows across the range. */
function unitHash(n: number): number {
  let h = Math.imul(n, 0x9e3779b1) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b) >>> 0;
  h = (h ^ (h >>> 13)) >>> 0;
  return h / 2 ** 32;
}
