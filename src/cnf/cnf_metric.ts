/**
 * The CNF metric record: its type, the strict checks every input passes before it reaches a database or
 * the cache, and its JSON form, which is the value cached under group `metrics`.
 * @module
 */

/**
 * Health of a CNF judged from one sample: `Normal` (within normal range), `Warning` (degraded, needs a
 * look) or `Critical` (service-affecting, needs action now). Stored and answered in this spelling.
 */
export type CnfStatus = "Normal" | "Warning" | "Critical";

/** Every {@linkcode CnfStatus} in its canonical spelling, mildest first. */
export const CNF_STATUSES: readonly CnfStatus[] = Object.freeze(["Normal", "Warning", "Critical"]);

// Input is matched case-insensitively. "ok" was the name of Normal before the vocabulary followed the
// issue text ("Warning" capitalised); clients and rows written then keep working.
const STATUS_BY_LOWER: ReadonlyMap<string, CnfStatus> = new Map([
  ...CNF_STATUSES.map((s) => [s.toLowerCase(), s] as const),
  ["ok", "Normal"],
]);

/** The latest sample of one metric for one CNF: one row of table `cnf_metric`. */
export interface CnfMetric {
  /** Identifier, 1-64 characters of `[A-Za-z0-9._-]`, e.g. `"CNF-001"`; compared case-sensitively. */
  cnfId: string;
  /** When the sample was taken, between 1970-01-01 and 9999-12-31 UTC, kept to the millisecond. */
  timestamp: Date;
  /** What was measured, e.g. `"Ingress Latency"`: 1-128 characters, not only spaces. */
  metricType: string;
  /** The measured value; always finite. */
  value: number;
  /** Unit of `value`, e.g. `"ms"`, `"%"`, `"Gbps"`: at most 32 characters, may be empty. */
  unit: string;
  /** Health judged from this sample; input in any letter case is stored in the canonical spelling. */
  status: CnfStatus;
}

/** Thrown when an input fails validation; `field` is the wire name (snake_case) of the bad field. */
export class CnfValidationError extends Error {
  /** The field that was wrong, as clients spell it, e.g. `"cnf_id"`. */
  readonly field: string;

  /**
   * @param field The wire name of the bad field.
   * @param expected What the field must be.
   * @param got The rejected value, quoted (shortened) in the message.
   */
  constructor(field: string, expected: string, got: unknown) {
    super(`${field}: expected ${expected}, got ${describe(got)}`);
    this.name = "CnfValidationError";
    this.field = field;
  }
}

const CNF_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
// MySQL DATETIME cannot hold years past 9999; telemetry before the Unix epoch can only be a bug.
const MIN_TIME_MS = 0;
const MAX_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Checks a CNF identifier and returns it unchanged.
 *
 * @param id The candidate identifier.
 * @returns `id`, known to be 1-64 characters of `[A-Za-z0-9._-]`.
 * @throws {CnfValidationError} With field `cnf_id` when `id` is anything else.
 * @example
 * ```ts
 * validateCnfId("CNF-001"); // "CNF-001"
 * ```
 */
export function validateCnfId(id: unknown): string {
  if (typeof id !== "string" || !CNF_ID_PATTERN.test(id)) {
    throw new CnfValidationError("cnf_id", '1-64 characters of [A-Za-z0-9._-] such as "CNF-001"', id);
  }
  return id;
}

/**
 * Checks every field of a metric and returns a fresh copy, so later changes to `input` cannot affect it.
 *
 * @param input An object shaped like {@linkcode CnfMetric}, from any source.
 * @returns The validated copy.
 * @throws {CnfValidationError} Naming the first bad field and what it should have been.
 * @example
 * ```ts
 * const m = validateCnfMetric({
 *   cnfId: "CNF-001", timestamp: new Date("2025-01-01T00:00:00Z"), metricType: "Ingress Latency",
 *   value: 20, unit: "ms", status: "warning",
 * }); // m.status is "Warning"
 * ```
 */
export function validateCnfMetric(input: unknown): CnfMetric {
  if (typeof input !== "object" || input === null) {
    throw new CnfValidationError("metric", "an object", input);
  }
  const m = input as Record<string, unknown>;
  return {
    cnfId: validateCnfId(m.cnfId),
    timestamp: validateTimestamp(m.timestamp),
    metricType: validateText("metric_type", m.metricType, 1, 128),
    value: validateValue(m.value),
    unit: validateText("unit", m.unit, 0, 32),
    status: validateStatus(m.status),
  };
}

function validateTimestamp(t: unknown): Date {
  const ms = t instanceof Date ? t.getTime() : NaN;
  if (!(ms >= MIN_TIME_MS && ms <= MAX_TIME_MS)) {
    throw new CnfValidationError("timestamp", "a valid date between 1970-01-01 and 9999-12-31 UTC", t);
  }
  return new Date(ms);
}

function validateText(field: string, s: unknown, min: number, max: number): string {
  const expected = min > 0
    ? `${min}-${max} printable characters, not only spaces`
    : `at most ${max} printable characters`;
  // Lengths count code points, as MySQL VARCHAR(n) does, not UTF-16 units.
  if (
    typeof s !== "string" || !s.isWellFormed() || hasControlChar(s) || [...s].length > max ||
    (min > 0 && s.trim().length === 0)
  ) {
    throw new CnfValidationError(field, expected, s);
  }
  return s;
}

// C0 controls and DEL would corrupt logs and dashboards that print these fields.
function hasControlChar(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function validateValue(v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new CnfValidationError("value", "a finite number", v);
  }
  return v;
}

function validateStatus(s: unknown): CnfStatus {
  const status = typeof s === "string" ? STATUS_BY_LOWER.get(s.toLowerCase()) : undefined;
  if (status === undefined) {
    const names = CNF_STATUSES.map((x) => `"${x}"`).join(", ");
    throw new CnfValidationError("status", `one of ${names} (any letter case)`, s);
  }
  return status;
}

/**
 * Encodes a metric as the cached JSON value, with the wire field names in a fixed order and the timestamp
 * in RFC 3339 (UTC, milliseconds).
 *
 * @param m The metric to encode.
 * @returns The JSON text.
 * @example
 * ```ts
 * toJson({
 *   cnfId: "CNF-001", timestamp: new Date("2025-01-01T00:00:00Z"), metricType: "Ingress Latency",
 *   value: 20, unit: "ms", status: "Normal",
 * });
 * // '{"cnf_id":"CNF-001","timestamp":"2025-01-01T00:00:00.000Z","metric_type":"Ingress Latency",...}'
 * ```
 */
export function toJson(m: CnfMetric): string {
  return JSON.stringify({
    cnf_id: m.cnfId,
    timestamp: m.timestamp.toISOString(),
    metric_type: m.metricType,
    value: m.value,
    unit: m.unit,
    status: m.status,
  });
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes and validates a cached JSON value made by {@linkcode toJson} (or by another node or program that
 * follows the same contract).
 *
 * @param json The JSON text, or its UTF-8 bytes as held in the cache.
 * @returns The validated metric.
 * @throws {CnfValidationError} When the text is not a JSON object or a field is missing or wrong.
 * @example
 * ```ts
 * const m = fromJson(toJson(metric));
 * ```
 */
export function fromJson(json: string | Uint8Array): CnfMetric {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof json === "string" ? json : decoder.decode(json));
  } catch {
    throw new CnfValidationError("json", "UTF-8 JSON text of a CnfMetric object", json);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new CnfValidationError("json", "a JSON object", parsed);
  }
  const o = parsed as Record<string, unknown>;
  return validateCnfMetric({
    cnfId: o.cnf_id,
    timestamp: parseRfc3339(o.timestamp),
    metricType: o.metric_type,
    value: o.value,
    unit: o.unit,
    status: o.status,
  });
}

function parseRfc3339(t: unknown): Date {
  // Date.parse accepts non-RFC 3339 shapes ("Jan 1 2025") and rolls over impossible dates (Feb 30 becomes
  // Mar 2), so the shape and each calendar field are checked first.
  const parts = typeof t === "string" ? RFC3339.exec(t) : null;
  if (parts === null || !isCalendarDateTime(parts.slice(1, 7).map(Number))) {
    throw new CnfValidationError("timestamp", 'an RFC 3339 date-time such as "2025-01-01T00:00:00Z"', t);
  }
  return new Date(t as string);
}

function isCalendarDateTime([year, month, day, hour, minute, second]: number[]): boolean {
  const probe = new Date(Date.UTC(year, month - 1, day));
  return probe.getUTCMonth() === month - 1 && probe.getUTCDate() === day && hour < 24 && minute < 60 &&
    second < 60;
}

/** Renders a rejected value for an error message, shortened so a huge input cannot flood a log. */
function describe(v: unknown): string {
  let s: string;
  if (v instanceof Date) s = Number.isNaN(v.getTime()) ? "Invalid Date" : v.toISOString();
  else if (v instanceof Uint8Array) s = `${v.byteLength} bytes`;
  else if (typeof v === "number" || typeof v === "bigint") s = String(v);
  else {
    try {
      s = JSON.stringify(v) ?? String(v);
    } catch {
      s = Object.prototype.toString.call(v);
    }
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
