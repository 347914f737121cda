import assert from "node:assert/strict";
import { bearer, bearerToken } from "../../src/auth/bearer.ts";

Deno.test("bearerToken reads the token whatever the scheme's case, and tells nothing from not-Bearer", () => {
  assert.equal(bearerToken(bearer("abc")), "abc");
  assert.equal(bearerToken("bearer abc"), "abc");
  assert.equal(bearerToken("BEARER   abc  "), "abc");
  assert.equal(bearerToken(undefined), "");
  assert.equal(bearerToken(""), "");
  assert.equal(bearerToken("Bearer"), "");
  assert.equal(bearerToken("Bearer "), "");
  assert.equal(bearerToken("Basic YTpi"), null);
  assert.equal(bearerToken("abc"), null);
  assert.equal(bearerToken("Bearerabc"), null);
});
