import assert from "node:assert/strict";
import { ByteView } from "../../src/cache/byte_view.ts";
import { Group, type KeyResult } from "../../src/cache/group.ts";
import type { PeerClient } from "../../src/cache/peers.ts";

/** A peer that owns keys starting with its id and answers batches; records each call. */
class BatchPeer implements PeerClient {
  readonly batches: string[][] = [];
  readonly gets: string[] = [];
  failCall = false;
  failKey: string | undefined;
  constructor(readonly id: string) {}
  get(_group: string, key: string): Promise<ByteView | null> {
    this.gets.push(key);
    return Promise.resolve(ByteView.of(`${this.id} has ${key}`));
  }
  getMany(_group: string, keys: readonly string[]): Promise<(ByteView | null | Error)[]> {
    this.batches.push([...keys]);
    if (this.failCall) return Promise.reject(new Error(`${this.id} is down`));
    return Promise.resolve(keys.map((key) => {
      if (key === this.failKey) return new Error(`${this.id} could not load ${key}`);
      return key.endsWith("missing") ? null : ByteView.of(`${this.id} has ${key}`);
    }));
  }
  set(): Promise<void> {
    return Promise.resolve();
  }
  delete(): Promise<void> {
    return Promise.resolve();
  }
}

function clusterOf(peers: PeerClient[], loaded: string[], options: { hotChance?: () => boolean } = {}) {
  return new Group({
    name: "g",
    cacheBytes: 1 << 16,
    getter: (key) => {
      loaded.push(key);
      return Promise.resolve(key.endsWith("missing") ? null : `here has ${key}`);
    },
    peers: {
      pickPeer: (key) => peers.find((p) => key.startsWith(p.id)),
      peers: () => peers,
    },
    hotChance: options.hotChance ?? (() => false),
  });
}

function values(results: KeyResult[]): (string | null)[] {
  return results.map((r) => r.status === "fulfilled" ? (r.value?.toString() ?? null) : `error`);
}

Deno.test("Group.getMany asks each owner once and answers in the order asked", async () => {
  const a = new BatchPeer("a"), b = new BatchPeer("b");
  const loaded: string[] = [];
  const group = clusterOf([a, b], loaded);
  const results = await group.getMany(["a1", "b1", "x1", "a2", "a-missing", "b2", "x-missing"]);
  assert.deepEqual(values(results), [
    "a has a1",
    "b has b1",
    "here has x1",
    "a has a2",
    null,
    "b has b2",
    null,
  ]);
  assert.deepEqual(a.batches, [["a1", "a2", "a-missing"]]);
  assert.deepEqual(b.batches, [["b1", "b2"]]);
  assert.deepEqual(loaded, ["x1", "x-missing"], "only the keys this node owns reach its source");
  assert.equal(group.stats().peerLoads, 5);
});

Deno.test("Group.getMany answers cached keys itself and shares loads with concurrent gets", async () => {
  const a = new BatchPeer("a");
  const loaded: string[] = [];
  const group = clusterOf([a], loaded, { hotChance: () => true });
  await group.get("a-hot"); // kept as a hot copy
  await group.get("x1"); // owned, in the main cache
  const single = group.get("a-shared");
  const results = await group.getMany(["a-hot", "x1", "a-shared", "a-new", "a-new"]);
  assert.deepEqual(values(results), [
    "a has a-hot",
    "here has x1",
    "a has a-shared",
    "a has a-new",
    "a has a-new",
  ]);
  assert.equal((await single)?.toString(), "a has a-shared");
  assert.deepEqual(a.gets, ["a-hot", "a-shared"]);
  assert.deepEqual(a.batches, [["a-new"]], "cached, in-flight and repeated keys are not asked again");
  assert.equal(group.stats().loadsDeduped, 2);
  assert.deepEqual(loaded, ["x1"]);
  assert.equal(group.cacheStats("hot").items, 3, "batch answers are kept as hot copies as gets' are");
});

Deno.test("Group.getMany loads here when the owner fails a key or the whole call", async () => {
  const a = new BatchPeer("a"), b = new BatchPeer("b");
  a.failKey = "a2";
  b.failCall = true;
  const loaded: string[] = [];
  const group = clusterOf([a, b], loaded);
  const results = await group.getMany(["a1", "a2", "b1", "b2"]);
  assert.deepEqual(values(results), ["a has a1", "here has a2", "here has b1", "here has b2"]);
  assert.deepEqual(loaded, ["a2", "b1", "b2"]);
  assert.equal(group.stats().peerErrors, 3);
  assert.equal(group.stats().localFallbacks, 3);
});

Deno.test("Group.getMany reports each key's own failure and loads forwarded batches here", async () => {
  const a = new BatchPeer("a");
  const group = new Group({
    name: "g",
    cacheBytes: 1 << 16,
    getter: (key) => key === "bad" ? Promise.reject(new Error("source down")) : Promise.resolve(key),
    peers: { pickPeer: (key) => key.startsWith("a") ? a : undefined, peers: () => [a] },
  });
  const results = await group.getMany(["a1", "bad", "ok"], { local: true });
  assert.deepEqual(values(results), ["a1", "error", "ok"]);
  assert.match(String((results[1] as PromiseRejectedResult).reason), /source down/);
  assert.equal(a.batches.length, 0, "a forwarded batch is never forwarded again");
});

Deno.test("Group.getMany asks a peer without batch support key by key", async () => {
  const plain: PeerClient = {
    id: "a",
    get: (_g, key) => Promise.resolve(key === "a2" ? null : ByteView.of(key)),
    set: () => Promise.resolve(),
    delete: () => Promise.resolve(),
  };
  const group = clusterOf([plain], []);
  assert.deepEqual(values(await group.getMany(["a1", "a2"])), ["a1", null]);
});
