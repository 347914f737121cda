import assert from "node:assert/strict";
import { metricValue, startNodeProcess } from "../_node.ts";

const TOKEN = "distcache-dev-token";
const VALUE_BYTES = 200;
const KEYS = 3000;
const READERS = 24;
const GETS_PER_READER = 600;
const PUTS = 6000;

/** A value that names its key and version and ends in a checksum of everything before it. */
function valueFor(key: string, version: number): Uint8Array<ArrayBuffer> {
  const head = `${key}|${version}|`;
  const bytes = new Uint8Array(VALUE_BYTES);
  for (let i = 0; i < VALUE_BYTES - 4; i++) {
    bytes[i] = i < head.length ? head.charCodeAt(i) : (i * 7 + version) & 255;
  }
  new DataView(bytes.buffer).setUint32(VALUE_BYTES - 4, checksum(bytes));
  return bytes;
}

function checksum(bytes: Uint8Array): number {
  let h = 2166136261;
  for (let i = 0; i < VALUE_BYTES - 4; i++) h = Math.imul(h ^ bytes[i], 16777619);
  return h >>> 0;
}

/** Why a GET's body is not a whole value of `key`, or "" when it is. */
function problem(key: string, bytes: Uint8Array): string {
  if (bytes.length !== VALUE_BYTES) return `${bytes.length} bytes`;
  if (new DataView(bytes.buffer, bytes.byteOffset).getUint32(VALUE_BYTES - 4) !== checksum(bytes)) {
    return "checksum differs (torn or overwritten)";
  }
  const text = new TextDecoder().decode(bytes.subarray(0, key.length + 1));
  return text === `${key}|` ? "" : `holds another key's value (${text})`;
}

Deno.test("hits answered while PUTs churn a small cache are never torn or another key's value", async () => {
  // A cache of 256 KiB holds a few hundred of these values, so PUTs evict and the store cleans and
  // reuses its segments all the time, while hits lend the very bytes being reused to their responses.
  const shipped = await Deno.readTextFile(new URL("../../config/config.yml", import.meta.url));
  await Deno.mkdir("data", { recursive: true });
  const config = `data/hit-churn-${Deno.pid}.yml`;
  await Deno.writeTextFile(config, shipped.replace(/^(\s+cache_bytes:) \d+/m, "$1 262144"));
  const node = await startNodeProcess({ args: ["--config", config] });
  try {
    const url = (key: string) => `${node.http}/_cache/metrics/${key}`;
    const headers = { authorization: `Bearer ${TOKEN}` };
    let version = 0;
    let puts = 0;
    let writing = true;
    const writer = (async () => {
      try {
        for (; puts < PUTS; puts++) {
          // Half the writes go to a small hot set, so GETs find them; the rest churn through many keys.
          const key = `k${puts % 2 === 0 ? puts % 40 : puts % KEYS}`;
          const res = await fetch(url(key), { method: "PUT", headers, body: valueFor(key, ++version) });
          assert.equal(res.status, 204, await res.text());
        }
      } finally {
        writing = false;
      }
    })();
    let hits = 0;
    const problems: string[] = [];
    const reader = async (id: number) => {
      for (let i = 0; i < GETS_PER_READER && writing; i++) {
        const key = `k${(id * 7 + i) % 40}`;
        const res = await fetch(url(key));
        const body = new Uint8Array(await res.arrayBuffer());
        if (res.status !== 200) continue;
        hits++;
        const why = problem(key, body);
        if (why !== "") problems.push(`${key}: ${why}`);
      }
    };
    await Promise.all([writer, ...Array.from({ length: READERS }, (_, id) => reader(id))]);
    assert.deepEqual(problems.slice(0, 5), [], `${problems.length} bad answers`);
    assert.ok(hits >= 1000, `only ${hits} hits: the run did not test hits under churn`);
    const evicted = await metricValue(node.http, "distcache_cache_evictions_total", { reason: "evicted" });
    assert.ok(evicted >= 1000, `only ${evicted} evictions: the cache was not churned`);
  } finally {
    await node.stop();
    await Deno.remove(config).catch(() => {});
  }
});
