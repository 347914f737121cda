/**
 * What the byte store's log pays for the garbage it may hold: for a share of 1/8, 1/16 (the one shipped)
 * and 1/32 of the live bytes, the garbage the log holds once churn has filled the allowance, and the bytes
 * cleaning moves per byte appended. The log has the 1 MiB segments of a 256 MiB cache and is filled with
 * records, then churned with new ones while old ones die in one of three orders: oldest first (eviction
 * in the order entries were written), at random (deletes, overwrites, TTLs of mixed lengths), and as the
 * `tinylfu` cache of `deno task bench memory` makes them die when it is churned with new keys (the cache
 * itself, on a store that keeps only the records' lengths in a log with the share under test, and counts
 * the log's garbage against the bound as the byte store does).
 *
 * Run with `deno task bench log_cleaning`. Bounded: each case appends twice the live bytes.
 * @module
 */
import { printHeader, printTable } from "./_util.ts";
import { createCache } from "../../src/cache/policies.ts";
import type { SlotStore } from "../../src/cache/store/slot_store.ts";
import { ENTRY_OVERHEAD, segmentBytesFor } from "../../src/cache/store/byte_store.ts";
import { GARBAGE_SHIFT, recordBytes, SegmentLog } from "../../src/cache/store/_segment_log.ts";
import { random } from "../../tests/cache/_random.ts";

const CACHE_BYTES = 224 * 1024 * 1024;
const SEGMENT = segmentBytesFor(256 * 1024 * 1024);
/** Live record bytes of the log-only cases: about what 224 MiB of 100-byte entries hold. */
const LIVE_BYTES = 140 * 1024 * 1024;
const MIB = 1024 * 1024;

interface Result {
  moved: number;
  appended: number;
  garbage: number;
  live: number;
  cleanings: number;
}

/** Fills a log with records of `payload` bytes, then appends twice as many while old ones die in `order`. */
function logOnly(shift: number, payload: number, order: "oldest" | "random"): Result {
  const count = Math.floor(LIVE_BYTES / recordBytes(payload));
  const log = new SegmentLog(SEGMENT, count + 1, 0, shift);
  // Live slots: a ring in the order written for "oldest", any order (swap-removed) for "random".
  const live = new Uint32Array(count);
  for (let s = 1; s <= count; s++) {
    log.append(s, payload);
    live[s - 1] = s;
  }
  const rand = random(shift * 31 + payload);
  const before = log.cleanings;
  const turns = 2 * count;
  for (let i = 0; i < turns; i++) {
    // In "oldest" order the rewritten slot keeps its place in the ring, which the next turn reaches last.
    const slot = live[order === "oldest" ? i % count : Math.floor(rand() * count)];
    log.free(slot);
    log.append(slot, payload);
  }
  const after = log.cleanings;
  return {
    moved: after.movedBytes - before.movedBytes,
    appended: turns * recordBytes(payload),
    garbage: log.heldBytes - log.liveBytes,
    live: log.liveBytes,
    cleanings: after.count - before.count,
  };
}

/**
 * A store for the cache that keeps each entry's record, as long as the byte store's would be, in a log
 * with the share under test, and nothing else: the cache decides which entries die, the log cleans. Its
 * costs and garbage are counted as the byte store counts them.
 */
class LogOnlyStore implements SlotStore<number> {
  readonly leastCost = recordBytes(0) + ENTRY_OVERHEAD;
  readonly log: SegmentLog;
  readonly #slots = new Map<string, number>();
  #keys: string[] = [];

  constructor(shift: number) {
    this.log = new SegmentLog(SEGMENT, 64, 0, shift);
  }
  get size(): number {
    return this.#slots.size;
  }
  get garbageBytes(): number {
    return this.log.garbageBytes;
  }
  reclaim(): boolean {
    return this.log.reclaim();
  }
  find(key: string): number {
    return this.#slots.get(key) ?? 0;
  }
  cost(key: string, value: number): number {
    return recordBytes(key.length + value) + ENTRY_OVERHEAD;
  }
  costOf(slot: number): number {
    return recordBytes(this.log.payloadOf(slot)) + ENTRY_OVERHEAD;
  }
  insert(slot: number, key: string, value: number): void {
    this.#slots.set(key, slot);
    this.#keys[slot] = key;
    this.log.append(slot, key.length + value);
  }
  replace(slot: number, value: number): void {
    this.log.free(slot);
    this.log.append(slot, this.#keys[slot].length + value);
  }
  remove(slot: number): void {
    this.#slots.delete(this.#keys[slot]);
    this.log.free(slot);
  }
  key(slot: number): string {
    return this.#keys[slot];
  }
  value(slot: number): number {
    return this.log.payloadOf(slot) - this.#keys[slot].length;
  }
  take(slot: number): number {
    return this.value(slot);
  }
  resize(slots: number): void {
    this.log.resize(slots);
  }
  clear(): void {
    this.#slots.clear();
    this.#keys = [];
    this.log.clear();
  }
}

/** The memory bench's churn: a `tinylfu` cache filled with new keys of 100-byte values, then churned with more. */
function cacheChurn(shift: number): Result {
  const store = new LogOnlyStore(shift);
  const cache = createCache<number>("tinylfu", { maxBytes: CACHE_BYTES, store, now: () => 0 });
  let n = 0;
  for (let before = -1; store.size > before; n++) {
    before = store.size;
    cache.set(`k1-${n}`, 100);
  }
  const before = store.log.cleanings;
  let appended = 0;
  for (let i = 0; appended < 2 * store.log.liveBytes; i++) {
    const key = `c1-${i}`;
    cache.set(key, 100);
    appended += recordBytes(key.length + 100);
  }
  const after = store.log.cleanings;
  return {
    moved: after.movedBytes - before.movedBytes,
    appended,
    garbage: store.log.heldBytes - store.log.liveBytes,
    live: store.log.liveBytes,
    cleanings: after.count - before.count,
  };
}

await printHeader("log_cleaning");
const cases: [string, (shift: number) => Result][] = [
  ["100 B records, oldest first", (shift) => logOnly(shift, 100, "oldest")],
  ["100 B records, at random", (shift) => logOnly(shift, 100, "random")],
  ["64 KiB records, at random", (shift) => logOnly(shift, 65536, "random")],
  ["tinylfu churn, 100 B values (bench memory)", cacheChurn],
];
const rows: string[][] = [];
for (const [name, run] of cases) {
  for (const shift of [3, 4, 5]) {
    const r = run(shift);
    rows.push([
      name,
      `1/${1 << shift}${shift === GARBAGE_SHIFT ? " (shipped)" : ""}`,
      (r.moved / r.appended).toFixed(2),
      `${(r.garbage / MIB).toFixed(1)} MiB (${(r.garbage / r.live * 100).toFixed(1)}%)`,
      (r.live / MIB).toFixed(1),
      String(r.cleanings),
    ]);
  }
}
console.log(
  `Segments of ${SEGMENT / MIB} MiB; each case appends twice its live bytes after the fill. Garbage: ` +
    `bytes held beyond the live records at the end (it includes the segment being filled).\n`,
);
printTable(
  [
    "deaths",
    "garbage share",
    "bytes moved per byte appended",
    "garbage held (of live)",
    "live MiB",
    "cleanings",
  ],
  rows,
);
