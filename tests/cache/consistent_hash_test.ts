import assert from "node:assert/strict";
import { ConsistentHash, DEFAULT_REPLICAS } from "../../src/cache/consistent_hash.ts";
import { lastHashedBytes, murmur3 } from "../../src/cache/_hash.ts";

const NODES = Array.from({ length: 10 }, (_, i) => `10.0.0.${i + 1}:9999`);
const KEYS = Array.from({ length: 100_000 }, (_, i) => `key-${i}`);

function ringOf(nodes: string[], replicas?: number): ConsistentHash {
  const ring = new ConsistentHash({ replicas });
  ring.add(...nodes);
  return ring;
}

function owners(ring: ConsistentHash, keys: string[] = KEYS): (string | undefined)[] {
  return keys.map((key) => ring.get(key));
}

/** The textbook byte-array MurmurHash3 x86_32, to check the streaming UTF-8 version against. */
function referenceMurmur3(bytes: Uint8Array, seed: number): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  const rotl = (x: number, r: number) => (x << r) | (x >>> (32 - r));
  let h = seed | 0;
  const tail = bytes.length & ~3;
  for (let i = 0; i < tail; i += 4) {
    let k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    k = Math.imul(rotl(Math.imul(k, c1), 15), c2);
    h = (Math.imul(rotl(h ^ k, 13), 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  for (let i = bytes.length - 1; i >= tail; i--) k = (k << 8) | bytes[i];
  if (bytes.length > tail) h ^= Math.imul(rotl(Math.imul(k, c1), 15), c2);
  h ^= bytes.length;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

Deno.test("murmur3 matches the published MurmurHash3 x86_32 vectors", () => {
  const vectors: [string, number, number][] = [
    ["", 0, 0],
    ["", 1, 0x514e28b7],
    ["", 0xffffffff, 0x81f16f39],
    ["\0\0\0\0", 0, 0x2362f9de],
    ["a", 0x9747b28c, 0x7fa09ea6],
    ["aaaa", 0x9747b28c, 0x5a97808a],
    ["abc", 0, 0xb3dd93fa],
    ["hello", 0, 0x248bfa47],
    ["Hello, world!", 0x9747b28c, 0x24884cba],
    ["The quick brown fox jumps over the lazy dog", 0x9747b28c, 0x2fa826cd],
  ];
  for (const [text, seed, expected] of vectors) {
    assert.equal(murmur3(text, seed), expected, `murmur3(${JSON.stringify(text)}, ${seed})`);
  }
});

Deno.test("murmur3 hashes the same bytes as TextEncoder produces, surrogates included", () => {
  const encoder = new TextEncoder();
  const samples = ["ключ", "日本語キー", "🔑 key", "é", "\u07ff\u0800\uffff", "\ud800", "a\udc00b", "\ud83d"];
  samples.push("\u0100abc", "abcd\u0100xyz", "abc\u0100", "abcdefg\u00e9");
  // A fixed pseudo-random mix of every UTF-8 length, so the test is the same on every run.
  let state = 1;
  const codes = [0x41, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe000, 0xffff];
  for (let n = 0; n < 200; n++) {
    let text = "";
    for (let i = 0; i < n % 13; i++) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      text += String.fromCharCode(codes[state % codes.length]);
    }
    samples.push(text);
  }
  for (const text of samples) {
    assert.equal(murmur3(text, 7), referenceMurmur3(encoder.encode(text), 7), JSON.stringify(text));
    // The byte store takes a key's length from the hash's walk: a wrong count would miss every such key.
    assert.equal(lastHashedBytes(), encoder.encode(text).length, `length of ${JSON.stringify(text)}`);
  }
});

Deno.test("ConsistentHash with no nodes owns nothing", () => {
  const ring = new ConsistentHash();
  assert.equal(ring.get("key"), undefined);
  assert.deepEqual(ring.nodes(), []);
  assert.equal(ring.replicas, DEFAULT_REPLICAS);
});

Deno.test("ConsistentHash gives the busiest of 10 nodes at most 1.10x the mean share", () => {
  const counts = new Map<string, number>();
  for (const owner of owners(ringOf(NODES))) counts.set(owner!, (counts.get(owner!) ?? 0) + 1);
  const mean = KEYS.length / NODES.length;
  assert.equal(counts.size, NODES.length);
  const max = Math.max(...counts.values()) / mean;
  const min = Math.min(...counts.values()) / mean;
  assert.ok(max <= 1.1, `busiest node has ${max.toFixed(3)}x the mean`);
  assert.ok(min >= 0.9, `idlest node has ${min.toFixed(3)}x the mean`);
});

Deno.test("ConsistentHash moves about 1/11 of keys, all to the new node, when an 11th joins", () => {
  const ring = ringOf(NODES);
  const before = owners(ring);
  ring.add("10.0.0.11:9999");
  const after = owners(ring);
  let moved = 0;
  for (let i = 0; i < KEYS.length; i++) {
    if (before[i] === after[i]) continue;
    moved++;
    assert.equal(after[i], "10.0.0.11:9999", `${KEYS[i]} moved between old nodes`);
  }
  const ideal = KEYS.length / 11;
  assert.ok(Math.abs(moved - ideal) <= ideal * 0.1, `${moved} keys moved, ideal ${ideal.toFixed(0)}`);
});

Deno.test("ConsistentHash remove", async (t) => {
  await t.step("moves only the removed node's keys", () => {
    const ring = ringOf(NODES);
    const before = owners(ring);
    ring.remove("10.0.0.3:9999");
    const after = owners(ring);
    for (let i = 0; i < KEYS.length; i++) {
      if (before[i] === "10.0.0.3:9999") assert.notEqual(after[i], "10.0.0.3:9999");
      else assert.equal(after[i], before[i]);
    }
    assert.deepEqual(ring.nodes(), NODES.filter((n) => n !== "10.0.0.3:9999").sort());
  });

  await t.step("ignores nodes not on the ring", () => {
    const ring = ringOf(["a", "b"]);
    ring.remove("c");
    assert.deepEqual(ring.nodes(), ["a", "b"]);
  });

  await t.step("of every node leaves an empty ring", () => {
    const ring = ringOf(["a", "b"]);
    ring.remove("a", "b");
    assert.equal(ring.get("key"), undefined);
  });
});

Deno.test("ConsistentHash set", async (t) => {
  const keys = KEYS.slice(0, 20_000);

  await t.step("replaces the node set and owns keys as a fresh ring would", () => {
    const ring = ringOf(["a", "b", "c"]);
    ring.set(["b", "c", "d"]);
    assert.deepEqual(ring.nodes(), ["b", "c", "d"]);
    assert.deepEqual(owners(ring, keys), owners(ringOf(["d", "c", "b"]), keys));
  });

  await t.step("only moves keys of departed nodes or to joining nodes", () => {
    const ring = ringOf(["a", "b", "c"]);
    const before = owners(ring, keys);
    ring.set(["b", "c", "d"]);
    const after = owners(ring, keys);
    for (let i = 0; i < keys.length; i++) {
      if (before[i] !== after[i]) assert.ok(before[i] === "a" || after[i] === "d", keys[i]);
    }
  });

  await t.step("handles a set that only removes nodes", () => {
    const ring = ringOf(["a", "b", "c"]);
    ring.set(["c"]);
    assert.deepEqual(ring.nodes(), ["c"]);
    assert.equal(ring.get("key"), "c");
  });

  await t.step("to no nodes empties the ring", () => {
    const ring = ringOf(["a"]);
    ring.set([]);
    assert.equal(ring.get("key"), undefined);
  });
});

Deno.test("ConsistentHash is deterministic", async (t) => {
  await t.step("names the owners computed once for fixed keys, in any process", () => {
    // Computed once with the default hash and replicas; a change here reroutes keys across a cluster.
    const ring = ringOf(NODES);
    assert.deepEqual(
      ["CNF-001", "CNF-042", "CNF-100", "user:1", "", "ключ", "🔑"].map((key) => ring.get(key)),
      [
        "10.0.0.6:9999",
        "10.0.0.7:9999",
        "10.0.0.4:9999",
        "10.0.0.4:9999",
        "10.0.0.3:9999",
        "10.0.0.5:9999",
        "10.0.0.4:9999",
      ],
    );
  });

  await t.step("does not depend on the order nodes were added in", () => {
    const keys = KEYS.slice(0, 20_000);
    const reversed = new ConsistentHash();
    for (const node of [...NODES].reverse()) reversed.add(node);
    assert.deepEqual(owners(reversed, keys), owners(ringOf(NODES), keys));
  });

  await t.step("breaks a tie between nodes at the same point by name", () => {
    const constant = () => 42;
    const one = new ConsistentHash({ hash: constant, replicas: 3 });
    one.add("zeta", "alpha", "mid");
    const two = new ConsistentHash({ hash: constant, replicas: 3 });
    two.add("mid", "zeta", "alpha");
    assert.equal(one.get("key"), "alpha");
    assert.equal(two.get("key"), "alpha");
  });

  await t.step("ignores a node added twice", () => {
    const ring = ringOf(["a", "b"]);
    const before = owners(ring, KEYS.slice(0, 1000));
    ring.add("a");
    assert.deepEqual(ring.nodes(), ["a", "b"]);
    assert.deepEqual(owners(ring, KEYS.slice(0, 1000)), before);
  });
});

Deno.test("ConsistentHash names the owner of the first point at or after the key's hash", () => {
  const keys = KEYS.slice(0, 3000);
  for (const replicas of [1, 2, 3, 7, 100]) {
    for (const count of [1, 2, 5]) {
      const nodes = NODES.slice(0, count);
      const points = nodes.flatMap((node) =>
        Array.from({ length: replicas }, (_, i) => ({ point: murmur3(`${node}#${i}`), node }))
      ).sort((a, b) => a.point - b.point || (a.node < b.node ? -1 : 1));
      const ring = ringOf(nodes, replicas);
      for (const key of keys) {
        const h = murmur3(key);
        const expected = (points.find((p) => p.point >= h) ?? points[0]).node;
        assert.equal(ring.get(key), expected, `${key} with ${count} nodes x ${replicas}`);
      }
    }
  }
});

Deno.test("ConsistentHash finds owners at the ends of the hash range", () => {
  const hash = (text: string) => text === "a#0" ? 0 : text === "b#0" ? 0xffffffff : Number(text);
  const ring = new ConsistentHash({ hash, replicas: 1 });
  ring.add("a", "b");
  assert.equal(ring.get("0"), "a");
  assert.equal(ring.get("1"), "b");
  assert.equal(ring.get(String(0xfffffffe)), "b");
  assert.equal(ring.get(String(0xffffffff)), "b");
});

Deno.test("ConsistentHash wraps keys past the last point to the first", () => {
  // Points of "a" hash to 10 and of "b" to 20; a key hashing above 20 belongs to the first point.
  const hash = (text: string) => text.startsWith("a#") ? 10 : text.startsWith("b#") ? 20 : Number(text);
  const ring = new ConsistentHash({ hash, replicas: 1 });
  ring.add("a", "b");
  assert.equal(ring.get("5"), "a");
  assert.equal(ring.get("10"), "a");
  assert.equal(ring.get("11"), "b");
  assert.equal(ring.get("21"), "a");
});

Deno.test("ConsistentHash rejects bad options and node names, naming them", () => {
  assert.throws(() => new ConsistentHash({ replicas: 0 }), /replicas must be a positive integer, got 0/);
  assert.throws(() => new ConsistentHash({ replicas: 1.5 }), /replicas must be a positive integer/);
  assert.throws(() => new ConsistentHash().add(""), /node must be a non-empty string, got ""/);
  const ring = ringOf(["a", "b"]);
  assert.throws(() => ring.set(["c", ""]), /node must be a non-empty string/);
  assert.deepEqual(ring.nodes(), ["a", "b"], "a rejected set changes nothing");
});
