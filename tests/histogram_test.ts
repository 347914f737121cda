import assert from "node:assert/strict";
import { Histogram } from "../src/histogram.ts";

Deno.test("Histogram writes cumulative buckets, sum and count per label set", () => {
  const h = new Histogram("op_seconds", "Operations.", ["op", "peer"], [0.001, 0.01]);
  // Before any observation the family is shown, without samples.
  assert.equal(h.text(), "# HELP op_seconds Operations.\n# TYPE op_seconds histogram\n");
  h.observe(["get", "a"], 0.0005);
  h.observe(["get", "a"], 0.001); // on a bound: counted in that bucket (le is "less or equal")
  h.observe(["get", "a"], 0.5);
  h.observe(["set", 'say "hi"\\\n'], 0.002);
  assert.equal(
    h.text(),
    [
      "# HELP op_seconds Operations.",
      "# TYPE op_seconds histogram",
      'op_seconds_bucket{op="get",peer="a",le="0.001"} 2',
      'op_seconds_bucket{op="get",peer="a",le="0.01"} 2',
      'op_seconds_bucket{op="get",peer="a",le="+Inf"} 3',
      'op_seconds_sum{op="get",peer="a"} 0.5015',
      'op_seconds_count{op="get",peer="a"} 3',
      'op_seconds_bucket{op="set",peer="say \\"hi\\"\\\\\\n",le="0.001"} 0',
      'op_seconds_bucket{op="set",peer="say \\"hi\\"\\\\\\n",le="0.01"} 1',
      'op_seconds_bucket{op="set",peer="say \\"hi\\"\\\\\\n",le="+Inf"} 1',
      'op_seconds_sum{op="set",peer="say \\"hi\\"\\\\\\n"} 0.002',
      'op_seconds_count{op="set",peer="say \\"hi\\"\\\\\\n"} 1',
      "",
    ].join("\n"),
  );
});
