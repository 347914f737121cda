import assert from "node:assert/strict";
import { FailureLog } from "../../src/peers/failure_log.ts";

Deno.test("FailureLog writes a peer's first failure, then at most one line per ten seconds with a count", () => {
  let now = 0;
  const lines: string[] = [];
  const failures = new FailureLog(
    (peer, message, suppressed) => lines.push(`${peer} ${message} +${suppressed}`),
    () => now,
  );
  failures.failed("a", "get: refused");
  failures.failed("a", "get: refused");
  failures.failed("b", "set: timeout");
  now = 9_999;
  failures.failed("a", "get: refused");
  assert.deepEqual(lines, ["a get: refused +0", "b set: timeout +0"]);
  now = 10_000;
  failures.failed("a", "get: still refused");
  assert.deepEqual(lines.at(-1), "a get: still refused +2");
  now = 10_001;
  failures.failed("a", "x");
  assert.equal(lines.length, 3);
});
