import assert from "node:assert/strict";
import {
  GARBAGE_SHIFT,
  OWNER_WORD,
  RECORD_HEADER,
  recordBytes,
  SegmentLog,
  SLOT_WORDS,
} from "../../../src/cache/store/_segment_log.ts";
import { random } from "../_random.ts";

const SEGMENT = 4096;

/** The bytes a slot's payload must hold: a pattern of the slot and its version, so any mix-up shows. */
function pattern(slot: number, version: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (slot * 31 + version * 7 + i) & 255;
  return out;
}

/** Live records' extents never overlap, and every payload holds its bytes, wherever cleaning moved it. */
function check(
  log: SegmentLog,
  live: Map<number, { version: number; length: number }>,
  peak: number,
  shift = GARBAGE_SHIFT,
): void {
  const extents = new Map<Uint8Array, [number, number][]>();
  let liveBytes = 0;
  for (const [slot, { version, length }] of live) {
    const bytes = log.bytesOf(slot);
    const off = log.offsetOf(slot);
    assert.equal(off % 4, 0, `slot ${slot}: record not aligned`);
    assert.equal(log.payloadOf(slot), length);
    const at = off + RECORD_HEADER;
    assert.deepEqual(
      bytes.subarray(at, at + length),
      pattern(slot, version, length),
      `slot ${slot} corrupted`,
    );
    const list = extents.get(bytes) ?? [];
    list.push([off, off + recordBytes(length)]);
    extents.set(bytes, list);
    liveBytes += recordBytes(length);
  }
  for (const list of extents.values()) {
    list.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < list.length; i++) {
      assert.ok(list[i - 1][1] <= list[i][0], `records overlap: ${list[i - 1]} and ${list[i]}`);
    }
  }
  assert.equal(log.liveBytes, liveBytes);
  // The bound the log keeps: the most live bytes it held, its garbage share more, two working segments, one
  // more that a cleaning may open while it moves records, and one opened when scattered garbage keeps
  // cleaning from reaching the share. Frees alone never make it hold more.
  assert.ok(
    log.heldBytes <= peak + peak / (1 << shift) + 4 * SEGMENT,
    `held ${log.heldBytes} with at most ${peak} live bytes`,
  );
}

Deno.test("SegmentLog: random appends and frees keep records apart and intact through cleaning", () => {
  // The shipped garbage share, and an eighth and a thirty-second of the live bytes.
  for (const [seed, shift] of [[1, GARBAGE_SHIFT], [2, GARBAGE_SHIFT], [3, 3], [4, 5]]) {
    const rand = random(seed);
    const slots = 400;
    const log = new SegmentLog(SEGMENT, slots, 0, shift);
    const live = new Map<number, { version: number; length: number }>();
    let version = 0;
    let peak = 0;
    for (let step = 0; step < 20_000; step++) {
      const slot = 1 + Math.floor(rand() * (slots - 1));
      if (live.has(slot)) {
        log.free(slot);
        live.delete(slot);
      }
      if (rand() < 0.6) {
        // Mostly small records, some over a quarter of a segment (a segment of their own).
        const length = rand() < 0.05 ? 1100 + Math.floor(rand() * 3000) : Math.floor(rand() * 300);
        log.append(slot, length);
        version++;
        const at = log.offsetOf(slot) + RECORD_HEADER;
        log.bytesOf(slot).set(pattern(slot, version, length), at);
        live.set(slot, { version, length });
        peak = Math.max(peak, log.liveBytes);
      }
      if (step % 97 === 0) check(log, live, peak, shift);
    }
    check(log, live, peak, shift);
    assert.ok(log.cleanings.count > 0, `seed ${seed}: the run never cleaned a segment`);
    for (const slot of live.keys()) log.free(slot);
    assert.equal(log.liveBytes, 0);
    assert.equal(log.heldBytes <= SEGMENT, true, "an empty log holds at most its head");
  }
});

Deno.test("SegmentLog: the owner's slot words keep what it wrote through appends, cleanings and growth", () => {
  // Reserved up to 300 slots, then grown past the reservation by copying.
  const log = new SegmentLog(SEGMENT, 8, 300);
  const rand = random(5);
  const owned = (slot: number, word: number) => (slot * 1_000 + word) >>> 0;
  const live = new Set<number>();
  let slots = 8;
  for (let step = 0; step < 5_000; step++) {
    if (step % 500 === 0 && slots < 1_000) {
      log.resize(slots * 2);
      const words = log.slotWords;
      for (let slot = slots; slot < slots * 2; slot++) {
        for (let w = OWNER_WORD; w < SLOT_WORDS; w++) words[slot * SLOT_WORDS + w] = owned(slot, w);
      }
      slots *= 2;
    }
    const slot = 8 + Math.floor(rand() * (slots - 8));
    if (live.has(slot)) log.free(slot);
    log.append(slot, Math.floor(rand() * 200));
    live.add(slot);
  }
  assert.ok(log.cleanings.count > 0, "the run never cleaned a segment");
  const words = log.slotWords;
  for (let slot = 8; slot < slots; slot++) {
    for (let w = OWNER_WORD; w < SLOT_WORDS; w++) {
      assert.equal(words[slot * SLOT_WORDS + w], owned(slot, w), `slot ${slot} word ${w}`);
    }
  }
});

Deno.test("SegmentLog: a segment left with no live record is reused without cleaning", () => {
  const log = new SegmentLog(SEGMENT, 64);
  for (let round = 0; round < 100; round++) {
    for (let slot = 1; slot < 40; slot++) log.append(slot, 200);
    for (let slot = 1; slot < 40; slot++) log.free(slot);
  }
  assert.equal(log.cleanings.count, 0);
  assert.ok(log.heldBytes + log.spareBytes <= 4 * SEGMENT);
});

Deno.test("SegmentLog: the garbage share bounds the garbage held under random frees, and a smaller one cleans more", () => {
  const churn = (shift: number) => {
    const rand = random(7);
    const slots = 4000;
    const log = new SegmentLog(SEGMENT, slots + 1, 0, shift);
    for (let slot = 1; slot <= slots; slot++) log.append(slot, 100);
    for (let i = 0; i < 5 * slots; i++) {
      const slot = 1 + Math.floor(rand() * slots);
      log.free(slot);
      log.append(slot, 100);
    }
    return { garbage: log.heldBytes - log.liveBytes, live: log.liveBytes, moved: log.cleanings.movedBytes };
  };
  const eighth = churn(3);
  const thirtySecond = churn(5);
  assert.ok(thirtySecond.garbage <= thirtySecond.live / 32 + 4 * SEGMENT, `${thirtySecond.garbage} held`);
  // An eighth lets the churn turn more into garbage than a thirty-second allows at all.
  assert.ok(eighth.garbage > thirtySecond.live / 32 + 4 * SEGMENT, `${eighth.garbage} held with an eighth`);
  assert.ok(thirtySecond.moved > eighth.moved, "the smaller share did not clean more");
});
