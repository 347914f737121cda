/**
 * Benchmarks the consistent-hash ring: how evenly 10 nodes share 1M keys, how many keys move when an
 * 11th node joins, and what a lookup costs. The same figures for a crc32 ring, groupcache's choice, are
 * measured in the same run as the comparison. Prints a markdown table.
 *
 * Run with `deno task bench ring`; it takes a few seconds.
 * @module
 */
import { ConsistentHash, DEFAULT_REPLICAS } from "../../src/cache/consistent_hash.ts";
import { printHeader, printTable } from "./_util.ts";

const KEYS = 1_000_000;
const NODES = 10;
/** groupcache's replicas per node (`defaultReplicas` in its http.go). */
const GROUPCACHE_REPLICAS = 50;
/** A lower point count, to show why the default is higher. */
const FEWER_REPLICAS = 160;
const TIMED_ROUNDS = 5;

const CRC_TABLE = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  CRC_TABLE[n] = c >>> 0;
}
const encoder = new TextEncoder();

/** IEEE crc32 of the UTF-8 bytes; ASCII text is read without encoding, so the timing is fair to it. */
function crc32(text: string): number {
  let crc = 0xffffffff;
  let ascii = true;
  for (let i = 0; i < text.length && ascii; i++) ascii = text.charCodeAt(i) < 0x80;
  if (ascii) {
    for (let i = 0; i < text.length; i++) crc = CRC_TABLE[(crc ^ text.charCodeAt(i)) & 0xff] ^ (crc >>> 8);
  } else {
    for (const byte of encoder.encode(text)) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

interface Contender {
  name: string;
  replicas: number;
  hash?: (text: string) => number;
}

const contenders: Contender[] = [
  { name: "murmur3 (distcache default)", replicas: DEFAULT_REPLICAS },
  { name: "murmur3", replicas: FEWER_REPLICAS },
  { name: "crc32", replicas: DEFAULT_REPLICAS, hash: crc32 },
  { name: "crc32 (groupcache default)", replicas: GROUPCACHE_REPLICAS, hash: crc32 },
];

const keys: string[] = [];
for (let i = 0; i < KEYS; i++) keys.push(`key:${i}`);
const nodes = Array.from({ length: NODES }, (_, i) => `10.0.0.${i + 1}:9999`);
const newcomer = `10.0.0.${NODES + 1}:9999`;

/** Nanoseconds per `get` in one pass over all keys. */
function lookupNs(ring: ConsistentHash): number {
  let sink = 0;
  const t0 = performance.now();
  for (let i = 0; i < KEYS; i++) sink += ring.get(keys[i])!.length;
  const ns = ((performance.now() - t0) * 1e6) / KEYS;
  if (sink === 0) throw new Error("unreachable");
  return ns;
}

const rings = contenders.map((c) => {
  const ring = new ConsistentHash({ replicas: c.replicas, hash: c.hash });
  ring.add(...nodes);
  return ring;
});
// Timed in rotating order after an untimed round, so no ring always runs first, cold or after another's
// garbage; every ring goes through the same (polymorphic) call site, as they would in one process.
const times: number[][] = contenders.map(() => []);
for (let round = 0; round <= TIMED_ROUNDS; round++) {
  for (let j = 0; j < rings.length; j++) {
    const at = (round + j) % rings.length;
    const ns = lookupNs(rings[at]);
    if (round > 0) times[at].push(ns);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const rows: string[][] = [];
contenders.forEach((c, at) => {
  const ring = rings[at];
  const owners: string[] = new Array(KEYS);
  const counts = new Map<string, number>();
  for (let i = 0; i < KEYS; i++) {
    const owner = ring.get(keys[i])!;
    owners[i] = owner;
    counts.set(owner, (counts.get(owner) ?? 0) + 1);
  }
  const mean = KEYS / NODES;
  const max = Math.max(...counts.values()) / mean;
  const min = (counts.size < NODES ? 0 : Math.min(...counts.values())) / mean;

  ring.add(newcomer);
  let moved = 0;
  let movedElsewhere = 0;
  for (let i = 0; i < KEYS; i++) {
    const owner = ring.get(keys[i]);
    if (owner === owners[i]) continue;
    moved++;
    if (owner !== newcomer) movedElsewhere++;
  }
  const ideal = KEYS / (NODES + 1);
  rows.push([
    c.name,
    String(c.replicas),
    `${max.toFixed(3)} ${max <= 1.1 ? "✓" : "✗"}`,
    min.toFixed(3),
    `${((moved / KEYS) * 100).toFixed(2)}%`,
    `${(moved / ideal).toFixed(3)} ${Math.abs(moved / ideal - 1) <= 0.1 ? "✓" : "✗"}`,
    movedElsewhere === 0 ? "yes" : `no (${movedElsewhere})`,
    median(times[at]).toFixed(0),
  ]);
});

await printHeader("ring");
console.log(
  `${NODES} nodes (\`10.0.0.N:9999\`), ${KEYS.toLocaleString("en")} keys \`key:<i>\`; then an ` +
    `${NODES + 1}th node joins. Targets: busiest node ≤ 1.10x the mean share; keys moved within 10% ` +
    `of the ideal 1/${NODES + 1} (${((1 / (NODES + 1)) * 100).toFixed(2)}%), all of them to the new node. ` +
    `Lookup: median of ${TIMED_ROUNDS} passes over all keys on the ${NODES}-node ring, rings taking turns. Every ring is ` +
    `ConsistentHash (points labelled \`<node>#<i>\`), only the hash and replicas differ.\n`,
);
printTable(
  [
    "hash",
    "replicas/node",
    "max/mean (≤ 1.10)",
    "min/mean",
    `moved on joining`,
    "moved/ideal (1 ± 0.10)",
    "moved only to new node",
    "lookup ns/op",
  ],
  rows,
);
