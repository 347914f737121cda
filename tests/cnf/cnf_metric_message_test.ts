import assert from "node:assert/strict";
import { fromMessage, toMessage } from "../../src/cnf/cnf_metric_message.ts";
import { sampleMetric } from "./_fixtures.ts";

Deno.test("toMessage splits the timestamp into seconds and nanos", () => {
  assert.deepEqual(toMessage(sampleMetric()), {
    cnf_id: "CNF-900",
    timestamp: { seconds: "1748781296", nanos: 789_000_000 },
    metric_type: "Egress Latency",
    value: 12.5,
    unit: "ms",
    status: "Normal",
  });
});

Deno.test("fromMessage reverses toMessage and accepts numeric seconds", () => {
  const m = sampleMetric();
  assert.deepEqual(fromMessage(toMessage(m)), m);
  const numeric = { ...toMessage(m), timestamp: { seconds: 1748781296, nanos: 789_999_999 } };
  assert.deepEqual(fromMessage(numeric), m, "nanos below a millisecond are dropped, not rounded up");
});

Deno.test("fromMessage rejects a missing message or a malformed timestamp naming the field", () => {
  assert.throws(() => fromMessage(null), { name: "CnfValidationError", field: "metric" });
  assert.throws(() => fromMessage(undefined), { field: "metric" });
  const base = toMessage(sampleMetric());
  for (
    const timestamp of [null, { seconds: "1.5", nanos: 0 }, { seconds: "x", nanos: 0 }, {
      seconds: "1",
      nanos: -1,
    }, {
      seconds: "1",
      nanos: 1e9,
    }]
  ) {
    assert.throws(() => fromMessage({ ...base, timestamp }), { field: "timestamp" }, Deno.inspect(timestamp));
  }
});
