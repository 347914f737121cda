/**
 * A log of variable-sized records in a few large byte segments, addressed by slot number, that keeps its
 * garbage bounded by moving live records out of the emptiest segments (a log-structured allocator, as
 * freecache and bigcache keep entries in byte arenas the garbage collector never walks).
 * @module
 */

/** Bytes of a record's header: the owning slot (0 once the record is dead) and the payload's length. */
export const RECORD_HEADER = 8;
import { SlotReserve } from "./_reserve.ts";

/**
 * Words per slot in {@linkcode SegmentLog.slotWords}: the segment and the offset of the slot's record,
 * then two words the log's owner keeps there, so that a lookup finds a slot's record and the owner's
 * state for it in one cache line, not one per array (a 16-byte slot never straddles a 64-byte line).
 */
export const SLOT_WORDS = 4;
/** The first of the owner's words in a slot of {@linkcode SegmentLog.slotWords}. */
export const OWNER_WORD = 2;

/**
 * Garbage the log may hold, as a share of its live record bytes (1 / 2^4): past it, a new segment is
 * opened only after cleaning one, and {@linkcode SegmentLog.reclaim} cleans. The garbage counts against
 * the cache's bound, so a larger share leaves fewer entries once the cache churns, and cleans less often:
 * an eighth held 13% of the live bytes as garbage, and a thirty-second moves half as many bytes again
 * (`deno task bench log_cleaning`, docs/BENCHMARKS.md).
 */
export const GARBAGE_SHIFT = 4;
/** Segments beyond the garbage share: the one being filled and the one cleaning moves records into. */
const WORKING_SEGMENTS = 2;
/** Cleanings one append may run before it opens a segment anyway (only reached when garbage is scattered). */
const MAX_CLEANINGS = 16;

/**
 * Bytes a record of `payload` bytes takes: header and payload, rounded up to 4 so every header's words
 * are aligned (the header, and an expiry kept at the payload's start, are read as 32-bit words).
 *
 * @param payload The payload's length.
 * @returns The record's length.
 * @example
 * ```ts
 * import { recordBytes } from "./_segment_log.ts";
 * recordBytes(100); // 108
 * ```
 */
export function recordBytes(payload: number): number {
  return (RECORD_HEADER + payload + 3) & ~3;
}

/**
 * Records by slot in segments of `segmentBytes` (a record larger than a quarter of that gets a segment
 * of its own). Appends go to the head segment. Freeing a record only marks it dead; once the segments
 * would hold more than the live bytes plus a sixteenth, the segment with the fewest live bytes is
 * cleaned: its live records move to the head, their slots' positions follow, and it is reused. So the
 * bytes held stay within `liveBytes * 17/16` plus four segments (two working, one a cleaning may open,
 * and one an append opens when the garbage is too scattered for 16 cleanings to bring it under the share).
 * {@linkcode SegmentLog.garbageBytes} tells how much of what it holds is garbage, so a cache can count it
 * against its bound, and {@linkcode SegmentLog.reclaim} frees some when the cache needs room.
 * Emptied ordinary segments are kept as spares and reused before any new one is allocated, so a steady
 * churn allocates nothing (dropping them made a churn of 64 KiB values leave about 100 MiB of buffers to
 * the garbage collector), and held plus spare bytes never exceed the most the log has held.
 *
 * A record's payload is written by the caller at `offsetOf(slot) + RECORD_HEADER` in `bytesOf(slot)`,
 * right after {@linkcode SegmentLog.append}; a later append may move it, so positions are looked up
 * each time.
 *
 * @example
 * ```ts
 * import { RECORD_HEADER, SegmentLog } from "./_segment_log.ts";
 * const log = new SegmentLog(4096, 8);
 * log.append(1, 3);
 * log.bytesOf(1).set([1, 2, 3], log.offsetOf(1) + RECORD_HEADER);
 * log.liveBytes; // 16
 * log.free(1);
 * log.liveBytes; // 0
 * ```
 */
export class SegmentLog {
  /** Bytes of an ordinary segment. */
  readonly segmentBytes: number;
  /** Records larger than this get a segment of their own. */
  readonly largeBytes: number;
  /** Per slot, {@linkcode SLOT_WORDS} words: the segment and offset of its record, then its owner's. */
  #slots: Uint32Array;
  readonly #reserve: SlotReserve | undefined;
  readonly #garbageShift: number;
  /** Per segment id (undefined: id free): its bytes, the same as words, its write end and live bytes. */
  readonly #buffers: (Uint8Array<ArrayBuffer> | undefined)[] = [];
  readonly #words: (Uint32Array | undefined)[] = [];
  readonly #end: number[] = [];
  readonly #live: number[] = [];
  readonly #large: boolean[] = [];
  readonly #freeIds: number[] = [];
  readonly #spares: Uint8Array<ArrayBuffer>[] = [];
  /** The segment appends go to; -1 when none is open. */
  #head = -1;
  #liveBytes = 0;
  #heldBytes = 0;
  #cleanings = 0;
  #movedBytes = 0;

  /**
   * Makes an empty log.
   *
   * @param segmentBytes Bytes of an ordinary segment, a multiple of 8.
   * @param slots Slots to make room for at first.
   * @param reserved Slots to reserve the per-slot arrays for at once (0 for none), so growing up to them
   *   copies nothing.
   * @param garbageShift The garbage allowed, as 1 / 2^garbageShift of the live bytes; the default was
   *   chosen by `deno task bench log_cleaning`, which passes others to measure the trade-off.
   */
  constructor(segmentBytes: number, slots: number, reserved = 0, garbageShift = GARBAGE_SHIFT) {
    if (!(Number.isInteger(segmentBytes) && segmentBytes >= 64 && segmentBytes % 8 === 0)) {
      throw new RangeError(`segmentBytes must be a multiple of 8 of at least 64, got ${segmentBytes}`);
    }
    this.segmentBytes = segmentBytes;
    this.largeBytes = segmentBytes >>> 2;
    this.#garbageShift = garbageShift;
    this.#reserve = reserved > slots ? new SlotReserve(reserved, [4 * SLOT_WORDS]) : undefined;
    this.#slots = this.#reserve?.uint32(0, slots * SLOT_WORDS) ?? new Uint32Array(slots * SLOT_WORDS);
  }

  /** Bytes of the live records. */
  get liveBytes(): number {
    return this.#liveBytes;
  }

  /** Bytes of the segments in use, spares not included. */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  /**
   * Bytes held that no live record uses and no append will fill: freed records not yet reclaimed, and
   * the unused ends of segments closed before they were full. The head's room after its last record
   * does not count, since appends fill it, nor do spare segments.
   */
  get garbageBytes(): number {
    const head = this.#head;
    const room = head === -1 ? 0 : this.segmentBytes - this.#end[head];
    return this.#heldBytes - this.#liveBytes - room;
  }

  /** Bytes of the empty segments kept for reuse. */
  get spareBytes(): number {
    return this.#spares.length * this.segmentBytes;
  }

  /** Segments cleaned so far, and the bytes cleaning moved. */
  get cleanings(): { count: number; movedBytes: number } {
    return { count: this.#cleanings, movedBytes: this.#movedBytes };
  }

  /**
   * Per slot, {@linkcode SLOT_WORDS} words from `slot * SLOT_WORDS`: the log's two, then two its owner
   * may read and write as it likes (from {@linkcode OWNER_WORD}). A new array after a resize beyond the
   * reserved slots, so an owner reads it again then.
   */
  get slotWords(): Uint32Array {
    return this.#slots;
  }

  /** Makes room for slots below `slots`, keeping the words of those below the old count. */
  resize(slots: number): void {
    if (slots * SLOT_WORDS <= this.#slots.length) return;
    const reserve = this.#reserve;
    if (reserve !== undefined && slots <= reserve.slots) {
      this.#slots = reserve.uint32(0, slots * SLOT_WORDS);
      return;
    }
    const words = new Uint32Array(slots * SLOT_WORDS);
    words.set(this.#slots);
    this.#slots = words;
  }

  /** The segment bytes that hold `slot`'s record. */
  bytesOf(slot: number): Uint8Array<ArrayBuffer> {
    return this.#buffers[this.#slots[slot * SLOT_WORDS]]!;
  }

  /** The same segment as {@linkcode bytesOf}, as 32-bit words (a record starts on a word). */
  wordsOf(slot: number): Uint32Array {
    return this.#words[this.#slots[slot * SLOT_WORDS]]!;
  }

  /** Where `slot`'s record starts in {@linkcode bytesOf}. */
  offsetOf(slot: number): number {
    return this.#slots[slot * SLOT_WORDS + 1];
  }

  /** The payload length of `slot`'s record. */
  payloadOf(slot: number): number {
    const at = slot * SLOT_WORDS;
    return this.#words[this.#slots[at]]![(this.#slots[at + 1] >>> 2) + 1];
  }

  /**
   * Places a record of `payload` bytes for `slot`, which must hold none. May move other records first.
   *
   * @param slot The owning slot, not 0.
   * @param payload The payload's length in bytes.
   */
  append(slot: number, payload: number): void {
    const size = recordBytes(payload);
    this.#liveBytes += size;
    let id: number;
    let off = 0;
    if (size > this.largeBytes) {
      id = this.#open(size, true);
    } else {
      id = this.#head;
      if (id === -1 || this.#end[id] + size > this.segmentBytes) id = this.#makeRoom(size);
      off = this.#end[id];
    }
    this.#end[id] = off + size;
    this.#live[id] += size;
    const words = this.#words[id]!;
    words[off >>> 2] = slot;
    words[(off >>> 2) + 1] = payload;
    this.#slots[slot * SLOT_WORDS] = id;
    this.#slots[slot * SLOT_WORDS + 1] = off;
  }

  /** Marks `slot`'s record dead; a segment left with no live record is reused at once. */
  free(slot: number): void {
    const id = this.#slots[slot * SLOT_WORDS];
    const off = this.#slots[slot * SLOT_WORDS + 1];
    const words = this.#words[id]!;
    const size = recordBytes(words[(off >>> 2) + 1]);
    words[off >>> 2] = 0;
    this.#liveBytes -= size;
    if ((this.#live[id] -= size) !== 0) return;
    if (id === this.#head) this.#end[id] = 0;
    else this.#release(id);
  }

  /**
   * Frees some garbage from the segment that holds the most (the head is compacted in place, any other
   * segment cleaned), when the log holds more than its share of the live bytes or that segment is at
   * least half garbage. Otherwise it frees nothing, since cleaning would move many live bytes for few dead
   * ones: the cache evicts instead, and the records it evicts become garbage this frees.
   *
   * @returns Whether garbage was freed.
   */
  reclaim(): boolean {
    const garbage = this.garbageBytes;
    const head = this.#head;
    const victim = this.#emptiest();
    const victimGarbage = victim === -1 ? 0 : this.segmentBytes - this.#live[victim];
    const headGarbage = head === -1 ? 0 : this.#end[head] - this.#live[head];
    const shareExceeded = garbage > Math.floor(this.#liveBytes / (1 << this.#garbageShift));
    if (victimGarbage > 0 && victimGarbage >= headGarbage) {
      // Cleaning a segment at least half garbage moves at most a byte per byte it frees.
      if (!shareExceeded && victimGarbage * 2 < this.segmentBytes) return false;
      this.#clean(victim);
    } else if (headGarbage > 0) {
      if (!shareExceeded && headGarbage * 2 < this.#end[head]) return false;
      this.#compactHead();
    } else return false;
    return this.garbageBytes < garbage;
  }

  /** Forgets every record and gives back every segment. */
  clear(): void {
    this.#buffers.length =
      this.#words.length =
      this.#end.length =
      this.#live.length =
        0;
    this.#large.length = this.#freeIds.length = this.#spares.length = 0;
    this.#head = -1;
    this.#liveBytes = this.#heldBytes = 0;
  }

  /** Opens a new head for a record of `size`, cleaning segments first while the log holds too much garbage. */
  #makeRoom(size: number): number {
    for (let i = 0; i < MAX_CLEANINGS; i++) {
      const allowed = this.#liveBytes + Math.floor(this.#liveBytes / (1 << this.#garbageShift)) +
        WORKING_SEGMENTS * this.segmentBytes;
      if (this.#heldBytes + this.segmentBytes <= allowed) break;
      const victim = this.#emptiest();
      if (victim === -1) break;
      this.#clean(victim);
      const head = this.#head;
      if (head !== -1 && this.#end[head] + size <= this.segmentBytes) return head;
    }
    return this.#openHead();
  }

  /** The ordinary segment other than the head with the fewest live bytes, or -1 when none has garbage. */
  #emptiest(): number {
    let best = -1;
    let bestLive = this.segmentBytes;
    const buffers = this.#buffers;
    for (let id = 0; id < buffers.length; id++) {
      if (buffers[id] === undefined || this.#large[id] || id === this.#head) continue;
      if (this.#live[id] < bestLive) {
        bestLive = this.#live[id];
        best = id;
      }
    }
    return best;
  }

  /** Moves the live records of segment `id` to the head, then reuses it. */
  #clean(id: number): void {
    const words = this.#words[id]!;
    const bytes = this.#buffers[id]!;
    const end = this.#end[id];
    const slots = this.#slots;
    for (let off = 0; off < end;) {
      const slot = words[off >>> 2];
      const size = recordBytes(words[(off >>> 2) + 1]);
      if (slot !== 0 && slots[slot * SLOT_WORDS] === id && slots[slot * SLOT_WORDS + 1] === off) {
        let head = this.#head;
        if (head === -1 || this.#end[head] + size > this.segmentBytes) head = this.#openHead();
        const at = this.#end[head];
        copyRecord(words, bytes, off, this.#words[head]!, this.#buffers[head]!, at, size);
        this.#end[head] = at + size;
        this.#live[head] += size;
        slots[slot * SLOT_WORDS] = head;
        slots[slot * SLOT_WORDS + 1] = at;
        this.#movedBytes += size;
      }
      off += size;
    }
    this.#cleanings++;
    this.#live[id] = 0;
    this.#release(id);
  }

  /** Moves the head's live records down over its dead ones, so its room after the last record grows. */
  #compactHead(): void {
    const id = this.#head;
    const words = this.#words[id]!;
    const bytes = this.#buffers[id]!;
    const end = this.#end[id];
    const slots = this.#slots;
    let to = 0;
    for (let off = 0; off < end;) {
      const slot = words[off >>> 2];
      const size = recordBytes(words[(off >>> 2) + 1]);
      if (slot !== 0 && slots[slot * SLOT_WORDS] === id && slots[slot * SLOT_WORDS + 1] === off) {
        if (to !== off) {
          bytes.copyWithin(to, off, off + size);
          slots[slot * SLOT_WORDS + 1] = to;
          this.#movedBytes += size;
        }
        to += size;
      }
      off += size;
    }
    this.#cleanings++;
    this.#end[id] = to;
  }

  /** Closes the head (its unused tail becomes garbage) and opens an empty ordinary segment as the head. */
  #openHead(): number {
    const old = this.#head;
    this.#head = -1;
    if (old !== -1 && this.#live[old] === 0) this.#release(old);
    return (this.#head = this.#open(this.segmentBytes, false));
  }

  #open(bytes: number, large: boolean): number {
    const buffer = (!large && this.#spares.pop()) || new Uint8Array(bytes);
    const id = this.#freeIds.pop() ?? this.#buffers.length;
    this.#buffers[id] = buffer;
    this.#words[id] = new Uint32Array(buffer.buffer);
    this.#end[id] = 0;
    this.#live[id] = 0;
    this.#large[id] = large;
    this.#heldBytes += buffer.byteLength;
    return id;
  }

  #release(id: number): void {
    const buffer = this.#buffers[id]!;
    this.#heldBytes -= buffer.byteLength;
    if (!this.#large[id]) this.#spares.push(buffer);
    this.#buffers[id] = undefined;
    this.#words[id] = undefined;
    this.#freeIds.push(id);
  }
}

/** Records up to this length are copied word by word: a subarray to copy from would be an object each. */
const WORD_COPY_BYTES = 256;

/** Copies a record of `size` bytes (a multiple of 4) from one segment to another. */
function copyRecord(
  fromWords: Uint32Array,
  from: Uint8Array,
  off: number,
  toWords: Uint32Array,
  to: Uint8Array,
  at: number,
  size: number,
): void {
  if (size > WORD_COPY_BYTES) {
    to.set(from.subarray(off, off + size), at);
    return;
  }
  const src = off >>> 2;
  const dst = at >>> 2;
  for (let w = 0; w < size >>> 2; w++) toWords[dst + w] = fromWords[src + w];
}
