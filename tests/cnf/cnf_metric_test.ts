import assert from "node:assert/strict";
import {
  CNF_STATUSES,
  CnfValidationError,
  fromJson,
  toJson,
  validateCnfId,
  validateCnfMetric,
} from "../../src/cnf/cnf_metric.ts";
import { HOSTILE_IDS, sampleMetric } from "./_fixtures.ts";

function rejects(field: string, fn: () => unknown): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CnfValidationError, `expected CnfValidationError, got ${err}`);
    assert.equal(err.field, field);
    assert.match(err.message, new RegExp(`^${field}: expected `));
    return true;
  });
}

Deno.test("validateCnfId accepts 1-64 characters of [A-Za-z0-9._-]", () => {
  for (const id of ["CNF-001", "a", "cnf_1.2-x", "x".repeat(64)]) assert.equal(validateCnfId(id), id);
});

Deno.test("validateCnfId rejects other ids naming cnf_id and the expected shape", () => {
  for (const id of [...HOSTILE_IDS, 42, null, undefined, {}]) rejects("cnf_id", () => validateCnfId(id));
  assert.throws(
    () => validateCnfId("a b"),
    /cnf_id: expected 1-64 characters of \[A-Za-z0-9._-\].*got "a b"/,
  );
});

Deno.test("validateCnfMetric returns a copy that later changes to the input cannot reach", () => {
  const input = sampleMetric();
  const m = validateCnfMetric(input);
  assert.deepEqual(m, input);
  input.timestamp.setTime(0);
  input.value = 1;
  assert.equal(m.timestamp.toISOString(), "2025-06-01T12:34:56.789Z");
  assert.equal(m.value, 12.5);
});

Deno.test("validateCnfMetric names each bad field", async (t) => {
  const cases: [string, Record<string, unknown>][] = [
    ["cnf_id", { cnfId: "bad id" }],
    ["timestamp", { timestamp: new Date(NaN) }],
    ["timestamp", { timestamp: "2025-01-01T00:00:00Z" }],
    ["timestamp", { timestamp: new Date(-1) }],
    ["timestamp", { timestamp: new Date(Date.UTC(10000, 0, 1)) }],
    ["metric_type", { metricType: "" }],
    ["metric_type", { metricType: "   " }],
    ["metric_type", { metricType: "x".repeat(129) }],
    ["metric_type", { metricType: "line\nbreak" }],
    ["metric_type", { metricType: "\ud800" }],
    ["metric_type", { metricType: 5 }],
    ["value", { value: NaN }],
    ["value", { value: Infinity }],
    ["value", { value: "20" }],
    ["unit", { unit: "x".repeat(33) }],
    ["unit", { unit: undefined }],
    ["status", { status: "unknown" }],
    ["status", { status: "" }],
    ["status", { status: " Normal" }],
    ["status", { status: 1 }],
  ];
  for (const [field, override] of cases) {
    await t.step(`${field} ${Deno.inspect(Object.values(override)[0]).slice(0, 30)}`, () => {
      rejects(field, () => validateCnfMetric({ ...sampleMetric(), ...override }));
    });
  }
  await t.step("not an object", () => rejects("metric", () => validateCnfMetric(null)));
});

Deno.test("validateCnfMetric counts code points, as VARCHAR does", () => {
  const emoji = "📈".repeat(128);
  assert.equal(validateCnfMetric(sampleMetric({ metricType: emoji })).metricType, emoji);
  assert.equal(validateCnfMetric(sampleMetric({ unit: "" })).unit, "");
  assert.equal(validateCnfMetric(sampleMetric({ unit: "µs" })).unit, "µs");
});

Deno.test("CNF_STATUSES lists the accepted statuses mildest first", () => {
  assert.deepEqual(CNF_STATUSES, ["Normal", "Warning", "Critical"]);
  for (const status of CNF_STATUSES) validateCnfMetric(sampleMetric({ status }));
});

Deno.test("validateCnfMetric accepts a status in any letter case and stores the canonical spelling", () => {
  const cases: [string, string][] = [
    ["normal", "Normal"],
    ["WARNING", "Warning"],
    ["cRiTiCaL", "Critical"],
    ["Normal", "Normal"],
    ["ok", "Normal"],
    ["OK", "Normal"],
  ];
  for (const [input, canonical] of cases) {
    assert.equal(validateCnfMetric({ ...sampleMetric(), status: input }).status, canonical, input);
  }
});

Deno.test("toJson writes the cache contract: wire names in order and an RFC 3339 timestamp", () => {
  assert.equal(
    toJson(sampleMetric()),
    '{"cnf_id":"CNF-900","timestamp":"2025-06-01T12:34:56.789Z","metric_type":"Egress Latency",' +
      '"value":12.5,"unit":"ms","status":"Normal"}',
  );
});

Deno.test("fromJson reverses toJson from text and from UTF-8 bytes", () => {
  const m = sampleMetric({ metricType: "Débit sortant", value: -0.125 });
  assert.deepEqual(fromJson(toJson(m)), m);
  assert.deepEqual(fromJson(new TextEncoder().encode(toJson(m))), m);
});

Deno.test("fromJson accepts RFC 3339 offsets and fractions beyond milliseconds", () => {
  const base = JSON.parse(toJson(sampleMetric()));
  const at = (timestamp: string) => fromJson(JSON.stringify({ ...base, timestamp })).timestamp.toISOString();
  assert.equal(at("2025-06-01T14:34:56.789123+02:00"), "2025-06-01T12:34:56.789Z");
  assert.equal(at("2025-06-01t12:34:56z"), "2025-06-01T12:34:56.000Z");
});

Deno.test("fromJson rejects malformed values naming the field", async (t) => {
  const base = JSON.parse(toJson(sampleMetric()));
  await t.step("not JSON", () => rejects("json", () => fromJson("{")));
  await t.step("not UTF-8", () => rejects("json", () => fromJson(new Uint8Array([0xff, 0xfe]))));
  await t.step("array", () => rejects("json", () => fromJson("[]")));
  await t.step("null", () => rejects("json", () => fromJson("null")));
  for (const timestamp of ["2025-02-30T00:00:00Z", "2025-06-01", "June 1 2025", "2025-06-01T24:00:00Z", 0]) {
    await t.step(`timestamp ${timestamp}`, () => {
      rejects("timestamp", () => fromJson(JSON.stringify({ ...base, timestamp })));
    });
  }
  await t.step(
    "missing status",
    () => rejects("status", () => fromJson(JSON.stringify({ ...base, status: undefined }))),
  );
  await t.step(
    "string value",
    () => rejects("value", () => fromJson(JSON.stringify({ ...base, value: "1" }))),
  );
});

Deno.test("CnfValidationError shortens huge rejected values in its message", () => {
  assert.throws(() => validateCnfId("y".repeat(10_000)), (err: Error) => {
    assert.equal(err.name, "CnfValidationError");
    assert.ok(err.message.length < 200, `message of ${err.message.length} characters`);
    return true;
  });
});
