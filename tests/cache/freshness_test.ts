import assert from "node:assert/strict";
import { ByteView } from "../../src/cache/byte_view.ts";
import { type Getter, Group, type GroupOptions } from "../../src/cache/group.ts";
import type { PeerClient, PeerPicker } from "../../src/cache/peers.ts";

const START = 1_000_000;

/** A clock tests move by hand. */
class Clock {
  ms = START;
  now = () => this.ms;
}

/**
 * A source whose answers tests change: `value` answers every key, `fail` makes calls throw, and `hold`
 * keeps calls waiting until `release` is called.
 */
class Source {
  calls = 0;
  value = "v1";
  fail = false;
  #held: (() => void)[] = [];
  hold = false;
  getter: Getter = async (key) => {
    this.calls++;
    if (this.hold) await new Promise<void>((resolve) => this.#held.push(resolve));
    if (this.fail) throw new Error("database down");
    return key === "absent" ? null : `${this.value}:${key}`;
  };
  release(): void {
    for (const resolve of this.#held.splice(0)) resolve();
  }
}

function groupOf(source: Source, clock: Clock, options: Partial<GroupOptions> = {}): Group {
  return new Group({
    name: "g",
    getter: source.getter,
    cacheBytes: 1 << 16,
    ttlMs: 1000,
    now: clock.now,
    ...options,
  });
}

const text = (view: ByteView | null | undefined) => view?.toString() ?? view;
/** Lets background work (a refresh) settle. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("refresh-ahead", async (t) => {
  await t.step(
    "a read within the window reloads once in the background; readers keep the value",
    async () => {
      const clock = new Clock(), source = new Source();
      const group = groupOf(source, clock, { refreshAheadMs: 200 });
      await group.get("k");
      clock.ms += 799;
      assert.equal(text(group.getCached("k")), "v1:k");
      assert.equal(source.calls, 1, "outside the window nothing reloads");
      source.value = "v2";
      source.hold = true;
      clock.ms += 1;
      for (let i = 0; i < 5; i++) assert.equal(text(group.getCached("k")), "v1:k", "readers never wait");
      assert.equal(source.calls, 2, "five reads in the window start one reload");
      source.release();
      await settle();
      const refreshed = group.getCached("k");
      assert.equal(text(refreshed), "v2:k");
      assert.equal(refreshed?.expiresAt, clock.ms + 1000, "the new value gets a full ttl");
      assert.equal(group.stats().refreshes, 1);
    },
  );

  await t.step("keys nobody reads in the window expire without a reload", async () => {
    const clock = new Clock(), source = new Source();
    const group = groupOf(source, clock, { refreshAheadMs: 200 });
    await group.get("a");
    await group.get("b");
    clock.ms += 900;
    group.getCached("a");
    await settle();
    assert.equal(source.calls, 3, "only the key read in the window reloaded");
    clock.ms += 100;
    assert.equal(group.getCached("b"), undefined, "b expired and must be loaded by the reader");
    assert.equal(text(group.getCached("a")), "v1:a");
  });

  await t.step("a failed refresh keeps the value until it expires and pauses refreshes", async () => {
    const clock = new Clock(), source = new Source();
    const group = groupOf(source, clock, { refreshAheadMs: 400 });
    await group.get("k");
    source.fail = true;
    clock.ms += 700;
    assert.equal(text(group.getCached("k")), "v1:k");
    await settle();
    assert.equal(source.calls, 2);
    clock.ms += 99;
    group.getCached("k");
    await settle();
    assert.equal(source.calls, 2, "no new refresh within a quarter of the window after a failure");
    clock.ms += 1;
    group.getCached("k");
    await settle();
    assert.equal(source.calls, 3);
    assert.equal(group.stats().refreshes, 0);
    assert.equal(group.stats().localLoadErrors, 2);
  });

  await t.step("a write during a refresh wins over the refreshed value", async () => {
    const clock = new Clock(), source = new Source();
    const group = groupOf(source, clock, { refreshAheadMs: 200 });
    await group.get("k");
    source.hold = true;
    clock.ms += 900;
    group.getCached("k");
    await group.set("k", "written");
    source.release();
    await settle();
    assert.equal(text(group.getCached("k")), "written");
  });

  await t.step("keys another node owns are not refreshed here; their copies expire by hotTtlMs", async () => {
    const clock = new Clock(), source = new Source();
    let ownerValue = "o1";
    const owner: PeerClient = {
      id: "owner",
      get: (_g, key) => Promise.resolve(ByteView.of(`${ownerValue}:${key}`, clock.ms + 1000)),
      set: () => Promise.resolve(),
      delete: () => Promise.resolve(),
    };
    const picker: PeerPicker = { pickPeer: () => owner, peers: () => [owner] };
    const group = groupOf(source, clock, {
      refreshAheadMs: 200,
      hotTtlMs: 300,
      peers: picker,
      hotChance: () => true,
    });
    assert.equal(text(await group.get("k")), "o1:k");
    ownerValue = "o2"; // the owner refreshed its value
    clock.ms += 299;
    assert.equal(text(group.getCached("k")), "o1:k");
    clock.ms += 1;
    assert.equal(group.getCached("k"), undefined, "the copy is gone hotTtlMs after it was fetched");
    assert.equal(text(await group.load("k")), "o2:k");
    assert.equal(source.calls, 0, "a non-owner never refreshed from its source");
  });
});

Deno.test("refresh-ahead: a hot copy ends where the refresh window begins, so reads in it reach the owner", async () => {
  const clock = new Clock(), source = new Source();
  const owner: PeerClient = {
    id: "owner",
    get: (_g, key) => Promise.resolve(ByteView.of(`o:${key}`, START + 1000)),
    set: () => Promise.resolve(),
    delete: () => Promise.resolve(),
  };
  const group = groupOf(source, clock, {
    refreshAheadMs: 200,
    peers: { pickPeer: () => owner, peers: () => [owner] },
    hotChance: () => true,
  });
  await group.get("k");
  clock.ms += 799;
  assert.equal(text(group.getCached("k")), "o:k");
  clock.ms += 1;
  assert.equal(group.getCached("k"), undefined, "in the window the owner is asked");
  assert.equal(text(await group.load("k")), "o:k");
  assert.equal(group.cacheStats("hot").items, 0, "a copy already in the window is not kept");
});

Deno.test("stale-if-error", async (t) => {
  await t.step("a failed reload answers the expired value within the window, marked stale", async () => {
    const clock = new Clock(), source = new Source();
    const group = groupOf(source, clock, { staleIfErrorMs: 5000 });
    await group.get("k");
    source.fail = true;
    clock.ms += 1000;
    assert.equal(group.getCached("k"), undefined, "an expired value is never a hit");
    const stale = await group.get("k");
    assert.equal(text(stale), "v1:k");
    assert.ok(group.isStale(stale!));
    clock.ms += 4999;
    const [late] = await group.getMany(["k"]);
    assert.equal(late.status, "fulfilled");
    assert.equal(text(late.status === "fulfilled" ? late.value : null), "v1:k");
    assert.equal(group.stats().staleAnswers, 2);
    clock.ms += 1;
    await assert.rejects(group.get("k"), /database down/, "past the window the error answers");
    await assert.rejects(group.get("never-loaded"), /database down/);
    assert.equal(group.stats().staleAnswers, 2);
  });

  await t.step("the next successful reload replaces the stale value", async () => {
    const clock = new Clock(), source = new Source();
    const group = groupOf(source, clock, { staleIfErrorMs: 5000 });
    await group.get("k");
    source.fail = true;
    clock.ms += 2000;
    assert.ok(group.isStale((await group.get("k"))!));
    source.fail = false;
    source.value = "v2";
    const fresh = await group.get("k");
    assert.equal(text(fresh), "v2:k");
    assert.equal(group.isStale(fresh!), false);
    assert.equal(text(group.getCached("k")), "v2:k");
  });

  await t.step("gets waiting on a failing refresh get the stale value too", async () => {
    const clock = new Clock(), source = new Source();
    const group = groupOf(source, clock, { refreshAheadMs: 200, staleIfErrorMs: 5000 });
    await group.get("k");
    source.hold = true;
    source.fail = true;
    clock.ms += 900;
    group.getCached("k"); // starts the refresh
    clock.ms += 200; // expired while the refresh runs
    const waiting = group.get("k");
    source.release();
    assert.equal(text(await waiting), "v1:k");
    assert.equal(source.calls, 2, "the get joined the refresh instead of loading again");
  });

  await t.step("a deleted key is never answered stale", async () => {
    const clock = new Clock(), source = new Source();
    const group = groupOf(source, clock, { staleIfErrorMs: 5000 });
    await group.get("k");
    await group.delete("k");
    source.fail = true;
    clock.ms += 1000;
    await assert.rejects(group.get("k"), /database down/);
  });

  await t.step("off by default: an expired value is dropped", async () => {
    const clock = new Clock(), source = new Source();
    const group = groupOf(source, clock);
    await group.get("k");
    source.fail = true;
    clock.ms += 1000;
    await assert.rejects(group.get("k"), /database down/);
    assert.equal(group.cacheStats("main").items, 0);
  });

  await t.step("a stale answer from the owner is passed on but never kept as a hot copy", async () => {
    const clock = new Clock(), source = new Source();
    const owner: PeerClient = {
      id: "owner",
      get: () => Promise.resolve(ByteView.of("old", clock.ms - 10)),
      set: () => Promise.resolve(),
      delete: () => Promise.resolve(),
    };
    const group = groupOf(source, clock, {
      staleIfErrorMs: 5000,
      peers: { pickPeer: () => owner, peers: () => [owner] },
      hotChance: () => true,
    });
    const view = await group.get("k");
    assert.ok(group.isStale(view!));
    assert.equal(group.cacheStats("hot").items, 0);
    assert.equal(group.stats().staleAnswers, 1);
  });

  await t.step("rejects a negative window, naming it", () => {
    assert.throws(() => groupOf(new Source(), new Clock(), { staleIfErrorMs: -1 }), /staleIfErrorMs/);
    assert.throws(() => groupOf(new Source(), new Clock(), { refreshAheadMs: 1.5 }), /refreshAheadMs/);
  });
});
