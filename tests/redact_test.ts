import assert from "node:assert/strict";
import { redactUrl } from "../src/redact.ts";

Deno.test("redactUrl hides the whole password, even one holding / or @", () => {
  assert.equal(redactUrl("mysql://app:s3cret@db:3306/metrics"), "mysql://app:***@db:3306/metrics");
  assert.equal(redactUrl("mysql://app:a/b@c@db:3306/metrics"), "mysql://app:***@db:3306/metrics");
  assert.equal(redactUrl("mysql://app@db:3306/metrics"), "mysql://app@db:3306/metrics");
  assert.equal(redactUrl("mysql://db:3306/metrics"), "mysql://db:3306/metrics");
  assert.equal(redactUrl("sqlite:data/x.db"), "sqlite:data/x.db");
});
