import assert from "node:assert/strict";
import { ByteView } from "../../src/cache/byte_view.ts";
import { type Getter, Group, type GroupOptions } from "../../src/cache/group.ts";
import type { PeerClient, PeerPicker } from "../../src/cache/peers.ts";
import { ByteStore } from "../../src/cache/store/byte_store.ts";
import { createCache, policies } from "../../src/cache/policies.ts";
import { random } from "./_random.ts";

const START = 1_000_000;

/** A clock tests move by hand. */
class Clock {
  ms = START;
  now = () => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** A getter that counts its calls and answers from a map (missing keys are null). */
function sourceOf(values: Record<string, string | ByteView>): Getter & { calls: string[] } {
  const calls: string[] = [];
  const getter = (key: string) => {
    calls.push(key);
    return Promise.resolve(values[key] ?? null);
  };
  return Object.assign(getter, { calls });
}

/** A peer whose behaviour each test chooses; records every call. */
class FakePeer implements PeerClient {
  readonly calls: string[] = [];
  constructor(
    readonly id: string,
    readonly behaviour: {
      get?: (key: string) => Promise<ByteView | null>;
      set?: (key: string, value: ByteView) => Promise<void>;
      delete?: (key: string) => Promise<void>;
    } = {},
  ) {}
  get(group: string, key: string): Promise<ByteView | null> {
    this.calls.push(`get ${group}/${key}`);
    return this.behaviour.get?.(key) ?? Promise.resolve(null);
  }
  set(group: string, key: string, value: ByteView): Promise<void> {
    this.calls.push(`set ${group}/${key}=${value}`);
    return this.behaviour.set?.(key, value) ?? Promise.resolve();
  }
  delete(group: string, key: string): Promise<void> {
    this.calls.push(`delete ${group}/${key}`);
    return this.behaviour.delete?.(key) ?? Promise.resolve();
  }
}

/** A picker where `owner` owns every key and `others` are the remaining peers. */
function pickerOf(owner: PeerClient | undefined, others: PeerClient[] = []): PeerPicker {
  const all = owner === undefined ? others : [owner, ...others];
  return { pickPeer: () => owner, peers: () => all };
}

function groupOf(getter: Getter, options: Partial<GroupOptions> = {}): Group {
  return new Group({ name: "g", getter, cacheBytes: 1 << 16, ...options });
}

const text = (view: ByteView | null) => view?.toString() ?? null;

Deno.test("Group loads a key once, then answers from the main cache", async () => {
  const getter = sourceOf({ k: "v" });
  const group = groupOf(getter);
  assert.equal(text(await group.get("k")), "v");
  assert.equal(text(await group.get("k")), "v");
  assert.deepEqual(getter.calls, ["k"]);
  const stats = group.stats();
  assert.equal(stats.gets, 2);
  assert.equal(stats.localLoads, 1);
  assert.equal(stats.cacheHits, 1);
  assert.equal(group.cacheStats("main").items, 1);
  assert.equal(group.name, "g");
});

Deno.test("Group getCached answers hits without waiting and load fills a miss", async () => {
  const getter = sourceOf({ k: "v" });
  const group = groupOf(getter);
  assert.equal(group.getCached("k"), undefined);
  assert.equal(text(await group.load("k")), "v");
  assert.equal(text(group.getCached("k") ?? null), "v");
  assert.equal(group.getCached("absent"), undefined);
  assert.equal(await group.load("absent"), null);
  assert.equal(group.getCached("absent"), null, "a remembered not-found is answered as null");
  assert.deepEqual(getter.calls, ["k", "absent"]);
  const stats = group.stats();
  assert.equal(stats.gets, 4, "every getCached counts as one get, load does not count again");
  assert.equal(stats.cacheHits, 1);
  assert.equal(stats.negativeHits, 1);
});

Deno.test("Group expiry", async (t) => {
  await t.step("reloads a value after ttlMs", async () => {
    const clock = new Clock();
    const getter = sourceOf({ k: "v" });
    const group = groupOf(getter, { ttlMs: 1000, now: clock.now });
    const first = await group.get("k");
    assert.equal(first?.expiresAt, START + 1000);
    clock.advance(999);
    await group.get("k");
    assert.equal(getter.calls.length, 1);
    clock.advance(1);
    await group.get("k");
    assert.equal(getter.calls.length, 2);
  });

  await t.step("keeps a value without ttlMs until it is evicted", async () => {
    const clock = new Clock();
    const getter = sourceOf({ k: "v" });
    const group = groupOf(getter, { now: clock.now });
    assert.equal((await group.get("k"))?.expiresAt, 0);
    clock.advance(365 * 24 * 3600 * 1000);
    await group.get("k");
    assert.equal(getter.calls.length, 1);
  });

  await t.step("lets a ByteView from the getter keep its own expiry", async () => {
    const clock = new Clock();
    const getter = sourceOf({ k: ByteView.of("v", START + 50) });
    const group = groupOf(getter, { ttlMs: 1000, now: clock.now });
    assert.equal((await group.get("k"))?.expiresAt, START + 50);
    clock.advance(50);
    await group.get("k");
    assert.equal(getter.calls.length, 2);
  });

  await t.step("returns but does not keep a value that has already expired", async () => {
    const clock = new Clock();
    const getter = sourceOf({ k: ByteView.of("old", START - 1) });
    const group = groupOf(getter, { now: clock.now });
    assert.equal(text(await group.get("k")), "old");
    await group.get("k");
    assert.equal(getter.calls.length, 2);
    assert.equal(group.cacheStats("main").items, 0);
  });
});

Deno.test("Group negative caching", async (t) => {
  await t.step("remembers a missing key for negativeTtlMs", async () => {
    const clock = new Clock();
    const getter = sourceOf({});
    const group = groupOf(getter, { negativeTtlMs: 2000, now: clock.now });
    assert.equal(await group.get("missing"), null);
    clock.advance(1999);
    assert.equal(await group.get("missing"), null);
    assert.equal(getter.calls.length, 1);
    assert.equal(group.stats().negativeHits, 1);
    clock.advance(1);
    assert.equal(await group.get("missing"), null);
    assert.equal(getter.calls.length, 2);
  });

  await t.step("defaults to 5 seconds", async () => {
    const clock = new Clock();
    const getter = sourceOf({});
    const group = groupOf(getter, { now: clock.now });
    await group.get("missing");
    clock.advance(4999);
    await group.get("missing");
    assert.equal(getter.calls.length, 1);
    clock.advance(1);
    await group.get("missing");
    assert.equal(getter.calls.length, 2);
  });

  await t.step("is disabled by negativeTtlMs 0", async () => {
    const getter = sourceOf({});
    const group = groupOf(getter, { negativeTtlMs: 0 });
    await group.get("missing");
    await group.get("missing");
    assert.equal(getter.calls.length, 2);
    assert.equal(group.stats().negativeHits, 0);
  });
});

Deno.test("Group calls the getter once for concurrent gets of a cold key", async () => {
  const gate = Promise.withResolvers<string>();
  let calls = 0;
  const group = groupOf(() => {
    calls++;
    return gate.promise;
  });
  const gets = Array.from({ length: 100 }, () => group.get("cold"));
  gate.resolve("v");
  const values = await Promise.all(gets);
  assert.equal(calls, 1);
  assert.ok(values.every((v) => text(v) === "v"));
  assert.equal(group.stats().loadsDeduped, 99);
  assert.equal(group.stats().localLoads, 1);
});

Deno.test("Group hands a getter error to every waiter and does not cache it", async () => {
  const gate = Promise.withResolvers<string>();
  const boom = new Error("database down");
  let calls = 0;
  const group = groupOf(() => {
    calls++;
    return calls === 1 ? gate.promise : Promise.resolve("recovered");
  });
  const gets = Array.from({ length: 5 }, () => group.get("k"));
  gate.reject(boom);
  for (const outcome of await Promise.allSettled(gets)) {
    assert.equal(outcome.status, "rejected");
    assert.equal((outcome as PromiseRejectedResult).reason, boom);
  }
  assert.equal(group.stats().localLoadErrors, 1);
  assert.equal(text(await group.get("k")), "recovered");
  assert.equal(calls, 2);
});

Deno.test("Group rejects a getter result that is not bytes, text, a ByteView or null", async () => {
  const group = groupOf(() => Promise.resolve(42 as unknown as string));
  await assert.rejects(
    group.get("k"),
    /group "g": a value must be a Uint8Array, string, ByteView or null, got 42/,
  );
  assert.equal(group.stats().localLoadErrors, 1);
});

Deno.test("Group fetches keys another node owns from that node", async (t) => {
  await t.step("returns the owner's value without loading or keeping it in the main cache", async () => {
    const getter = sourceOf({ k: "local" });
    const owner = new FakePeer("b", { get: () => Promise.resolve(ByteView.of("remote")) });
    const group = groupOf(getter, { peers: pickerOf(owner), hotChance: () => false });
    assert.equal(text(await group.get("k")), "remote");
    assert.equal(text(await group.get("k")), "remote");
    assert.deepEqual(owner.calls, ["get g/k", "get g/k"]);
    assert.deepEqual(getter.calls, []);
    assert.equal(group.stats().peerLoads, 2);
    assert.equal(group.cacheStats("main").items, 0);
    assert.equal(group.cacheStats("hot").items, 0);
  });

  await t.step("keeps an admitted value in the hot cache", async () => {
    const owner = new FakePeer("b", { get: () => Promise.resolve(ByteView.of("remote")) });
    const chances = [true];
    const group = groupOf(sourceOf({}), {
      peers: pickerOf(owner),
      hotChance: () => chances.shift() ?? false,
    });
    await group.get("k");
    assert.equal(text(await group.get("k")), "remote");
    assert.equal(owner.calls.length, 1);
    assert.equal(group.stats().hotHits, 1);
    assert.equal(group.cacheStats("hot").items, 1);
  });

  await t.step("keeps a hot copy no longer than hotTtlMs", async () => {
    const clock = new Clock();
    const owner = new FakePeer("b", { get: () => Promise.resolve(ByteView.of("remote")) });
    const group = groupOf(sourceOf({}), {
      peers: pickerOf(owner),
      hotChance: () => true,
      hotTtlMs: 3000,
      now: clock.now,
    });
    assert.equal((await group.get("k"))?.expiresAt, 0, "the value's own expiry is unchanged");
    clock.advance(2999);
    await group.get("k");
    assert.equal(owner.calls.length, 1);
    clock.advance(1);
    await group.get("k");
    assert.equal(owner.calls.length, 2);
  });

  await t.step("keeps a hot copy no longer than the value's own expiry", async () => {
    const clock = new Clock();
    const owner = new FakePeer("b", { get: () => Promise.resolve(ByteView.of("remote", clock.ms + 100)) });
    const group = groupOf(sourceOf({}), {
      peers: pickerOf(owner),
      hotChance: () => true,
      hotTtlMs: 3000,
      now: clock.now,
    });
    await group.get("k");
    clock.advance(99);
    await group.get("k");
    assert.equal(owner.calls.length, 1);
    clock.advance(1);
    await group.get("k");
    assert.equal(owner.calls.length, 2);
  });

  await t.step("calls the owner once for concurrent gets", async () => {
    const gate = Promise.withResolvers<ByteView | null>();
    const owner = new FakePeer("b", { get: () => gate.promise });
    const group = groupOf(sourceOf({}), { peers: pickerOf(owner), hotChance: () => false });
    const gets = Array.from({ length: 10 }, () => group.get("k"));
    gate.resolve(ByteView.of("remote"));
    assert.ok((await Promise.all(gets)).every((v) => text(v) === "remote"));
    assert.equal(owner.calls.length, 1);
    assert.equal(group.stats().loadsDeduped, 9);
  });

  await t.step("takes null from the owner as an authoritative not found", async () => {
    const getter = sourceOf({ k: "local" });
    const owner = new FakePeer("b", { get: () => Promise.resolve(null) });
    const group = groupOf(getter, { peers: pickerOf(owner), hotChance: () => true });
    assert.equal(await group.get("k"), null);
    assert.deepEqual(getter.calls, []);
    assert.equal(group.stats().peerLoads, 1);
    assert.equal(group.stats().localLoads, 0);
  });
});

Deno.test("Group loads locally when the owner fails", async (t) => {
  await t.step("counts the peer error and the local load", async () => {
    const getter = sourceOf({ k: "local" });
    const owner = new FakePeer("b", { get: () => Promise.reject(new Error("connection refused")) });
    const group = groupOf(getter, { peers: pickerOf(owner), hotChance: () => false });
    assert.equal(text(await group.get("k")), "local");
    assert.deepEqual(owner.calls, ["get g/k"]);
    assert.deepEqual(getter.calls, ["k"]);
    const stats = group.stats();
    assert.equal(stats.peerErrors, 1);
    assert.equal(stats.peerLoads, 0);
    assert.equal(stats.localLoads, 1);
  });

  await t.step("keeps the value only as a hot copy bounded by hotTtlMs", async () => {
    const clock = new Clock();
    const getter = sourceOf({ k: "local" });
    const owner = new FakePeer("b", { get: () => Promise.reject(new Error("timeout")) });
    const group = groupOf(getter, { peers: pickerOf(owner), hotTtlMs: 1000, now: clock.now });
    await group.get("k");
    assert.equal(group.cacheStats("main").items, 0);
    assert.equal(group.cacheStats("hot").items, 1);
    clock.advance(999);
    await group.get("k");
    assert.equal(getter.calls.length, 1);
    clock.advance(1);
    await group.get("k");
    assert.equal(owner.calls.length, 2, "the owner is asked again once the copy expires");
  });

  await t.step("remembers a missing key as a hot copy too", async () => {
    const getter = sourceOf({});
    const owner = new FakePeer("b", { get: () => Promise.reject(new Error("timeout")) });
    const group = groupOf(getter, { peers: pickerOf(owner) });
    assert.equal(await group.get("k"), null);
    assert.equal(await group.get("k"), null);
    assert.equal(getter.calls.length, 1);
    assert.equal(group.stats().negativeHits, 1);
  });

  await t.step("does not keep a missing key when negative caching is off", async () => {
    const getter = sourceOf({});
    const owner = new FakePeer("b", { get: () => Promise.reject(new Error("timeout")) });
    const group = groupOf(getter, { peers: pickerOf(owner), negativeTtlMs: 0 });
    await group.get("k");
    await group.get("k");
    assert.equal(getter.calls.length, 2);
  });

  await t.step("treats a peer that throws synchronously as failed", async () => {
    const owner = new FakePeer("b", {
      get: () => {
        throw new Error("bad address");
      },
    });
    const group = groupOf(sourceOf({ k: "local" }), { peers: pickerOf(owner) });
    assert.equal(text(await group.get("k")), "local");
    assert.equal(group.stats().peerErrors, 1);
  });
});

Deno.test("Group with local never consults peers", async (t) => {
  const picker: PeerPicker = {
    pickPeer: () => assert.fail("a forwarded get must not pick a peer"),
    peers: () => assert.fail("a forwarded get must not list peers"),
  };

  await t.step("loads the key and keeps it in the main cache", async () => {
    const getter = sourceOf({ k: "v" });
    const group = groupOf(getter, { peers: picker });
    assert.equal(text(await group.get("k", { local: true })), "v");
    assert.equal(text(await group.get("k", { local: true })), "v");
    assert.deepEqual(getter.calls, ["k"]);
    assert.equal(group.cacheStats("main").items, 1);
  });

  await t.step("shares a getter call with a get of the same key on its owner", async () => {
    const gate = Promise.withResolvers<string>();
    let calls = 0;
    const group = groupOf(() => {
      calls++;
      return gate.promise;
    });
    const own = group.get("k");
    const forwarded = group.get("k", { local: true });
    gate.resolve("v");
    assert.deepEqual([text(await own), text(await forwarded)], ["v", "v"]);
    assert.equal(calls, 1);
    assert.equal(group.stats().loadsDeduped, 1);
  });
});

Deno.test("Group set", async (t) => {
  await t.step("stores an owned key in the main cache, replacing a negative entry", async () => {
    const getter = sourceOf({});
    const group = groupOf(getter);
    assert.equal(await group.get("k"), null);
    await group.set("k", "v");
    assert.equal(text(await group.get("k")), "v");
    assert.equal(getter.calls.length, 1);
  });

  await t.step("applies ttlMs, the group's by default", async () => {
    const clock = new Clock();
    const group = groupOf(sourceOf({}), { ttlMs: 500, now: clock.now });
    await group.set("a", "1");
    await group.set("b", new Uint8Array([50]), { ttlMs: 100 });
    await group.set("c", ByteView.of("3", START + 7), { ttlMs: 100 });
    assert.equal((await group.get("a"))?.expiresAt, START + 500);
    assert.equal(text(await group.get("b")), "2");
    assert.equal((await group.get("b"))?.expiresAt, START + 100);
    assert.equal((await group.get("c"))?.expiresAt, START + 7, "a ByteView keeps its own expiry");
  });

  await t.step("forwards a key another node owns and drops the local copy", async () => {
    const owner = new FakePeer("b", { get: () => Promise.resolve(ByteView.of("old")) });
    const group = groupOf(sourceOf({}), { peers: pickerOf(owner), hotChance: () => true });
    await group.get("k");
    assert.equal(group.cacheStats("hot").items, 1);
    await group.set("k", "new");
    assert.deepEqual(owner.calls, ["get g/k", "set g/k=new"]);
    assert.equal(group.cacheStats("hot").items, 0);
    assert.equal(group.cacheStats("main").items, 0);
  });

  await t.step("stores a forwarded set here without forwarding it again", async () => {
    const owner = new FakePeer("b");
    const group = groupOf(sourceOf({}), { peers: pickerOf(owner) });
    await group.set("k", "v", { local: true });
    assert.deepEqual(owner.calls, []);
    assert.equal(text(await group.get("k", { local: true })), "v");
  });

  await t.step("rejects when the owner fails", async () => {
    const owner = new FakePeer("b", { set: () => Promise.reject(new Error("owner down")) });
    const group = groupOf(sourceOf({}), { peers: pickerOf(owner) });
    await assert.rejects(group.set("k", "v"), /owner down/);
  });

  await t.step("rejects a bad ttlMs, naming it", async () => {
    await assert.rejects(groupOf(sourceOf({})).set("k", "v", { ttlMs: -1 }), /ttlMs must be a non-negative/);
  });
});

Deno.test("Group delete", async (t) => {
  await t.step("removes the key here and on every peer", async () => {
    const getter = sourceOf({ k: "v" });
    const peers = [new FakePeer("b"), new FakePeer("c"), new FakePeer("d")];
    const group = groupOf(getter, { peers: pickerOf(undefined, peers) });
    await group.get("k");
    await group.delete("k");
    for (const peer of peers) assert.deepEqual(peer.calls, ["delete g/k"]);
    assert.equal(group.cacheStats("main").items, 0);
    await group.get("k");
    assert.equal(getter.calls.length, 2);
  });

  await t.step("removes a hot copy", async () => {
    const owner = new FakePeer("b", { get: () => Promise.resolve(ByteView.of("remote")) });
    const group = groupOf(sourceOf({}), { peers: pickerOf(owner), hotChance: () => true });
    await group.get("k");
    await group.delete("k");
    assert.equal(group.cacheStats("hot").items, 0);
    assert.deepEqual(owner.calls, ["get g/k", "delete g/k"]);
  });

  await t.step("with local removes the key here only", async () => {
    const peer = new FakePeer("b");
    const group = groupOf(sourceOf({ k: "v" }), { peers: pickerOf(undefined, [peer]) });
    await group.get("k");
    await group.delete("k", { local: true });
    assert.deepEqual(peer.calls, []);
    assert.equal(group.cacheStats("main").items, 0);
  });

  await t.step("asks every peer in parallel and names the ones that failed", async () => {
    const gate = Promise.withResolvers<void>();
    const slow = new FakePeer("slow", { delete: () => gate.promise });
    const bad = new FakePeer("bad", { delete: () => Promise.reject(new Error("refused")) });
    const worse = new FakePeer("worse", {
      delete: () => {
        throw new Error("sync failure");
      },
    });
    const good = new FakePeer("good");
    const group = groupOf(sourceOf({}), { peers: pickerOf(undefined, [slow, bad, worse, good]) });
    const deleting = group.delete("k");
    await Promise.resolve();
    assert.deepEqual(good.calls, ["delete g/k"], "peers are not asked one after another");
    gate.resolve();
    const error = await deleting.then(() => assert.fail("expected a rejection"), (e) => e);
    assert.ok(error instanceof AggregateError);
    assert.equal(
      error.message,
      'delete of key "k" in group "g" failed on 2 of 4 peers: bad, worse',
    );
    assert.deepEqual(error.errors.map((e: Error) => e.message), ["refused", "sync failure"]);
    assert.equal(group.stats().peerDeleteErrors, 2);
  });
});

Deno.test("Group does not cache a load that a write overtook", async (t) => {
  await t.step("a set during a load wins over the loaded value", async () => {
    const gate = Promise.withResolvers<string>();
    const group = groupOf(() => gate.promise);
    const loading = group.get("k");
    await group.set("k", "written");
    gate.resolve("loaded before the write");
    assert.equal(text(await loading), "loaded before the write");
    assert.equal(text(await group.get("k")), "written");
  });

  await t.step("a get after a delete does not join a load that started before it", async () => {
    const gates = [Promise.withResolvers<string>(), Promise.withResolvers<string>()];
    let calls = 0;
    const group = groupOf(() => gates[calls++].promise);
    const before = group.get("k");
    await group.delete("k");
    const after = group.get("k");
    gates[0].resolve("old");
    gates[1].resolve("new");
    assert.deepEqual([text(await before), text(await after)], ["old", "new"]);
    assert.equal(calls, 2);
    assert.equal(text(await group.get("k")), "new");
  });

  await t.step("a hot copy fetched during a forwarded set is not kept", async () => {
    const gate = Promise.withResolvers<ByteView | null>();
    const owner = new FakePeer("b", { get: () => gate.promise });
    const group = groupOf(sourceOf({}), { peers: pickerOf(owner), hotChance: () => true });
    const fetching = group.get("k");
    await group.set("k", "new");
    gate.resolve(ByteView.of("old"));
    await fetching;
    assert.equal(group.cacheStats("hot").items, 0);
  });
});

Deno.test("Group without a hot cache never admits copies", async () => {
  const owner = new FakePeer("b", { get: () => Promise.resolve(ByteView.of("remote")) });
  const group = groupOf(sourceOf({}), {
    peers: pickerOf(owner),
    hotCacheFraction: 0,
    hotChance: () => assert.fail("no hot cache to admit to"),
  });
  await group.get("k");
  await group.get("k");
  assert.equal(owner.calls.length, 2);
  assert.deepEqual(group.cacheStats("hot"), {
    bytes: 0,
    items: 0,
    gets: 0,
    hits: 0,
    evictions: 0,
    expirations: 0,
  });
});

Deno.test("Group setPeers changes who owns keys", async () => {
  const getter = sourceOf({ k: "local" });
  const owner = new FakePeer("b", { get: () => Promise.resolve(ByteView.of("remote")) });
  const group = groupOf(getter, { hotChance: () => false });
  group.setPeers(pickerOf(owner));
  assert.equal(text(await group.get("k")), "remote");
  group.setPeers(pickerOf(undefined));
  assert.equal(text(await group.get("k")), "local");
  assert.throws(() => group.setPeers({} as PeerPicker), /peers must be a PeerPicker/);
});

Deno.test("Group splits cacheBytes between the main and hot cache", async () => {
  const value = "x".repeat(100);
  const owner = new FakePeer("b", { get: () => Promise.resolve(ByteView.of(value)) });
  let remote = false;
  const group = groupOf(sourceOf({}), {
    cacheBytes: 1000,
    hotCacheFraction: 0.3,
    peers: { pickPeer: () => remote ? owner : undefined, peers: () => [owner] },
    hotChance: () => true,
  });
  for (let i = 0; i < 20; i++) await group.set(`own${i}`, value);
  remote = true;
  for (let i = 0; i < 20; i++) await group.get(`remote${i}`);
  const main = group.cacheStats("main");
  const hot = group.cacheStats("hot");
  // Each entry costs about 200 bytes (key, value and the store's share per entry): main holds as many
  // as fit in its 700 bytes, hot in its 300.
  assert.ok(main.bytes <= 700 && main.bytes > 700 - 200, `main holds ${main.bytes} of 700 bytes`);
  assert.ok(hot.bytes <= 300 && hot.bytes > 300 - 200, `hot holds ${hot.bytes} of 300 bytes`);
  assert.ok(main.evictions > 0 && hot.evictions > 0, "both caches evicted for room");
});

Deno.test("Group rejects invalid options, naming the field", () => {
  const getter = sourceOf({});
  const cases: [Partial<GroupOptions>, RegExp][] = [
    [{ name: "" }, /name must be a non-empty string, got ""/],
    [{ getter: undefined as unknown as Getter }, /getter must be a function, got undefined/],
    [{ cacheBytes: 0 }, /cacheBytes must be a positive integer, got 0/],
    [{ cacheBytes: 1.5 }, /cacheBytes must be a positive integer, got 1.5/],
    [{ cacheBytes: "1" as unknown as number }, /cacheBytes must be a positive integer, got "1"/],
    [{ hotCacheFraction: 1 }, /hotCacheFraction must be a number from 0 up to \(not including\) 1, got 1/],
    [{ hotCacheFraction: -0.1 }, /hotCacheFraction must be/],
    [{ ttlMs: -1 }, /ttlMs must be a non-negative integer, got -1/],
    [{ negativeTtlMs: NaN }, /negativeTtlMs must be a non-negative integer, got NaN/],
    [{ hotTtlMs: 0 }, /hotTtlMs must be a positive integer, got 0/],
    [{ peers: null as unknown as PeerPicker }, /peers must be a PeerPicker .* got null/],
    [{ peers: new Map() as unknown as PeerPicker }, /peers must be a PeerPicker .* got Map/],
    [{ policy: "arc" }, /unknown cache policy "arc"/],
    [{ hotChance: 0.1 as unknown as () => boolean }, /hotChance must be a function, got 0.1/],
    [{ now: 5 as unknown as () => number }, /now must be a function, got 5/],
  ];
  for (const [options, message] of cases) {
    assert.throws(() => groupOf(getter, options), message, JSON.stringify(options));
  }
});

Deno.test("Group accepts every policy by name and evicts by that policy", async () => {
  // The same skewed trace through a group and through a bare cache of the named policy and budget: the
  // group must miss exactly where the bare cache does. The policies differ on this trace, so a group that
  // ignored the name (or always used one policy) would miss elsewhere for most of them.
  const rand = random(7);
  const trace = Array.from({ length: 3000 }, () => `k${Math.floor(100 * rand() ** 3)}`);
  const misses = new Map<string, number>();
  for (const policy of Object.keys(policies)) {
    const getter = sourceOf({});
    const group = groupOf((key) => getter(key).then(() => ByteView.of("v".repeat(10))), {
      policy,
      cacheBytes: 1024,
      hotCacheFraction: 0,
    });
    // The group's caches keep values in a ByteStore, whose budget counts each entry's real cost: the bare
    // cache is made the same way.
    const bare = createCache<ByteView | null>(policy, { maxBytes: 1024, store: new ByteStore(1024) });
    let bareMisses = 0;
    for (const key of trace) {
      assert.equal(text(await group.get(key)), "v".repeat(10));
      // A group looks a missing key up three times (before the load, inside the flight, before the getter),
      // which TinyLFU's sketch counts as three uses; the bare cache is asked the same.
      if (bare.get(key) === undefined && bare.get(key) === undefined && bare.get(key) === undefined) {
        bareMisses++;
        bare.set(key, ByteView.of("v".repeat(10)));
      }
    }
    assert.equal(getter.calls.length, bareMisses, `${policy}: the group misses as a bare ${policy} cache`);
    misses.set(policy, bareMisses);
  }
  assert.ok(new Set(misses.values()).size >= 4, `the policies differ on the trace: ${[...misses]}`);
});

Deno.test("mod.ts re-exports the whole core", async () => {
  const core = await import("../../src/cache/mod.ts");
  for (
    const name of [
      "ByteView",
      "LruCache",
      "SieveCache",
      "createCache",
      "policies",
      "NoPeers",
      "Singleflight",
      "ConsistentHash",
      "DEFAULT_REPLICAS",
      "Group",
    ]
  ) {
    assert.ok(name in core, `mod.ts exports ${name}`);
  }
  assert.equal(core.Group, Group);
});
