import assert from "node:assert/strict";
import { toJson, validateCnfMetric } from "../../src/cnf/cnf_metric.ts";
import { SEED_SIZE, seedMetrics } from "../../src/cnf/seed.ts";

Deno.test("seedMetrics returns CNF-001..CNF-100 in order, every row valid", () => {
  const rows = seedMetrics();
  assert.equal(SEED_SIZE, 100);
  assert.equal(rows.length, SEED_SIZE);
  rows.forEach((m, i) => {
    assert.equal(m.cnfId, `CNF-${String(i + 1).padStart(3, "0")}`);
    assert.deepEqual(validateCnfMetric(m), m);
  });
});

Deno.test("seedMetrics is identical on every call (no clock, no randomness)", () => {
  const a = seedMetrics().map(toJson);
  const b = seedMetrics().map(toJson);
  assert.deepEqual(a, b);
  // Pinned so a change to the formula, which would make old and new nodes seed different data, is seen.
  assert.equal(
    a[41],
    '{"cnf_id":"CNF-042","timestamp":"2025-01-01T00:42:00.000Z","metric_type":"Container CPU Utilization",' +
      '"value":90.4,"unit":"%","status":"Warning"}',
  );
  assert.equal(
    a[99],
    '{"cnf_id":"CNF-100","timestamp":"2025-01-01T01:40:00.000Z","metric_type":"User Plane Throughput",' +
      '"value":33.71,"unit":"Gbps","status":"Normal"}',
  );
});

Deno.test("seedMetrics hands out fresh objects each call", () => {
  const first = seedMetrics();
  first[0].value = -1;
  first[0].timestamp.setTime(0);
  const again = seedMetrics()[0];
  assert.equal(again.value, 20);
  assert.equal(again.timestamp.toISOString(), "2025-01-01T00:01:00.000Z");
});

Deno.test("seedMetrics starts with the named CNFs", () => {
  const [latency, , cpu] = seedMetrics();
  assert.deepEqual(
    { type: latency.metricType, value: latency.value, unit: latency.unit, status: latency.status },
    { type: "Ingress Latency", value: 20, unit: "ms", status: "Normal" },
  );
  assert.deepEqual(
    { type: cpu.metricType, value: cpu.value, unit: cpu.unit, status: cpu.status },
    { type: "Container CPU Utilization", value: 85, unit: "%", status: "Warning" },
  );
  const security = seedMetrics()[9];
  assert.deepEqual(
    { type: security.metricType, value: security.value, unit: security.unit, status: security.status },
    { type: "Security Inspection Rate", value: 3000, unit: "packets/sec", status: "Normal" },
  );
  const named = seedMetrics().slice(0, 10);
  assert.equal(new Set(named.map((m) => m.metricType)).size, 10, "ten distinct named metrics");
});

Deno.test("seedMetrics generates varied values within each family's range", () => {
  const generated = seedMetrics().slice(10);
  assert.equal(generated.length, 90);
  const byType = Map.groupBy(generated, (m) => m.metricType);
  assert.ok(byType.size >= 6, `only ${byType.size} metric types`);
  for (const [type, rows] of byType) {
    const values = new Set(rows.map((m) => m.value));
    assert.ok(values.size > rows.length / 2, `${type} values barely vary: ${[...values]}`);
    assert.equal(new Set(rows.map((m) => m.unit)).size, 1, `${type} mixes units`);
  }
  const statuses = new Set(generated.map((m) => m.status));
  assert.deepEqual([...statuses].sort(), ["Critical", "Normal", "Warning"]);
});
