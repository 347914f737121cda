import assert from "node:assert/strict";
import { ByteView } from "../../src/cache/byte_view.ts";

Deno.test("ByteView cannot be changed through the bytes it was made from or handed out", async (t) => {
  await t.step("of copies its input in", () => {
    const src = new Uint8Array([1, 2, 3]);
    const view = ByteView.of(src);
    src[0] = 9;
    assert.deepEqual(view.toBytes(), new Uint8Array([1, 2, 3]));
  });
  await t.step("toBytes hands out a fresh copy each time", () => {
    const view = ByteView.of(new Uint8Array([1, 2, 3]));
    const out = view.toBytes();
    out[0] = 9;
    assert.deepEqual(view.toBytes(), new Uint8Array([1, 2, 3]));
    assert.notEqual(view.toBytes(), view.toBytes());
  });
  await t.step("strings are held as UTF-8", () => {
    const view = ByteView.of("né");
    assert.equal(view.byteLength, 3);
    assert.equal(view.toString(), "né");
    assert.ok(view.equals(new TextEncoder().encode("né")));
  });
});

Deno.test("ByteView.withExpiry changes only the expiry", async (t) => {
  await t.step("the same expiry returns the same view", () => {
    const view = ByteView.of("v", 5);
    assert.equal(view.withExpiry(5), view);
  });
  await t.step("another expiry returns a new view of the same bytes, leaving the old one alone", () => {
    const view = ByteView.of("v");
    const later = view.withExpiry(10);
    assert.notEqual(later, view);
    assert.equal(view.expiresAt, 0);
    assert.equal(later.expiresAt, 10);
    assert.ok(later.equals(view));
  });
});

Deno.test("ByteView.isExpired treats 0 as never and the expiry instant as expired", () => {
  assert.equal(ByteView.of("v").isExpired(Number.MAX_SAFE_INTEGER), false);
  const view = ByteView.of("v", 100);
  assert.equal(view.isExpired(99), false);
  assert.equal(view.isExpired(100), true);
});

Deno.test("ByteView.equals compares bytes, not expiry", () => {
  const view = ByteView.of(new Uint8Array([1, 2]), 1);
  assert.ok(view.equals(ByteView.of(new Uint8Array([1, 2]), 2)));
  assert.ok(view.equals(new Uint8Array([1, 2])));
  assert.equal(view.equals(new Uint8Array([1, 3])), false);
  assert.equal(view.equals(new Uint8Array([1, 2, 3])), false);
});

Deno.test("ByteView.withBytes lends the bytes and returns what the borrower returns", async () => {
  const view = ByteView.of("hello");
  assert.equal(view.withBytes((bytes) => bytes.byteLength), 5);
  const res = view.withBytes((bytes) => new Response(bytes));
  assert.equal(await res.text(), "hello");
  assert.equal(view.toString(), "hello");
});
