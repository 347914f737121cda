import assert from "node:assert/strict";
import { decodePageToken, encodePageToken, pageSize } from "../../src/cnf/page_token.ts";

Deno.test("page tokens round-trip every valid cnf_id and are URL-safe", () => {
  for (const id of ["CNF-001", "a", "x".repeat(64), "a.b_c-d", "___"]) {
    const token = encodePageToken(id);
    assert.match(token, /^[A-Za-z0-9_-]+$/);
    assert.equal(decodePageToken(token), id);
  }
  assert.equal(decodePageToken(""), "");
});

Deno.test("decodePageToken refuses what encodePageToken cannot have made, naming page_token", () => {
  for (const token of ["=", "a b", "////", btoa("CNF 001"), btoa("x".repeat(65)), 5, null]) {
    assert.throws(() => decodePageToken(token), { name: "CnfValidationError", field: "page_token" });
  }
});

Deno.test("pageSize applies the default of 100 and the maximum of 1000", () => {
  assert.equal(pageSize(0), 100);
  assert.equal(pageSize(1), 1);
  assert.equal(pageSize(1000), 1000);
  assert.equal(pageSize(1001), 1000);
  for (const bad of [-1, 1.5, NaN, "10"]) assert.throws(() => pageSize(bad), { field: "page_size" });
});
