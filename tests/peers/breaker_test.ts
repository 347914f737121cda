import assert from "node:assert/strict";
import { ByteView } from "../../src/cache/byte_view.ts";
import { PeerBreaker } from "../../src/peers/breaker.ts";

/** A peer that fails while `down` is set, and counts the calls that reached it. */
class FlakyPeer {
  readonly id = "http://peer";
  down = true;
  calls = 0;
  closed = false;
  get(): Promise<ByteView | null> {
    this.calls++;
    return this.down ? Promise.reject(new Error("refused")) : Promise.resolve(ByteView.of("v"));
  }
  set(): Promise<void> {
    this.calls++;
    return this.down ? Promise.reject(new Error("refused")) : Promise.resolve();
  }
  delete(): Promise<void> {
    return this.set();
  }
  close(): void {
    this.closed = true;
  }
}

Deno.test("PeerBreaker skips a peer after repeated failures and lets one trial through per back-off", async () => {
  let now = 0;
  const peer = new FlakyPeer();
  const breaker = new PeerBreaker(peer, { failures: 3, backoffMs: 1000, maxBackoffMs: 4000, now: () => now });
  for (let i = 0; i < 3; i++) await assert.rejects(breaker.get("g", "k"), /refused/);
  assert.equal(breaker.open, true);
  await assert.rejects(breaker.get("g", "k"), /skipped after 3 failed calls/);
  await assert.rejects(breaker.set("g", "k", ByteView.of("v")), /skipped/);
  assert.equal(peer.calls, 3, "calls while open never reach the peer");

  now = 1000; // back-off over: one trial, which fails and doubles the back-off
  await assert.rejects(breaker.get("g", "k"), /refused/);
  assert.equal(peer.calls, 4);
  now = 2999;
  await assert.rejects(breaker.get("g", "k"), /skipped/);
  now = 3000;
  peer.down = false; // the peer is back: the trial succeeds and closes the breaker
  assert.equal((await breaker.get("g", "k"))?.toString(), "v");
  assert.equal(breaker.open, false);
  await breaker.delete("g", "k");
  assert.equal(peer.calls, 6);

  breaker.close();
  assert.equal(peer.closed, true);
});

Deno.test("PeerBreaker lets a single call through at a time while trying a peer again", async () => {
  let now = 0;
  const peer = new FlakyPeer();
  const breaker = new PeerBreaker(peer, { failures: 1, backoffMs: 10, now: () => now });
  await assert.rejects(breaker.get("g", "k"));
  now = 10;
  const release = Promise.withResolvers<void>();
  peer.get = () => {
    peer.calls++;
    return release.promise.then(() => ByteView.of("late"));
  };
  const trial = breaker.get("g", "k");
  await assert.rejects(breaker.get("g", "k"), /skipped/, "a second call during the trial is skipped");
  release.resolve();
  assert.equal((await trial)?.toString(), "late");
  assert.equal(peer.calls, 2);
});
