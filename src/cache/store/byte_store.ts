/**
 * The store of a group's cached values: keys and values as bytes in a few large segments, found through
 * an index of integers, with each entry's header in typed arrays. No object per entry, so a cache of
 * millions of entries gives the garbage collector nothing to walk, and its bytes are what it counts.
 * @module
 */
import { type ByteSource, ByteView } from "../byte_view.ts";
import { lastHashedBytes, murmur3 } from "../_hash.ts";
import { arraysReplaced } from "./_collect.ts";
import { KeyIndex } from "./_key_index.ts";
import { reservedSlots, SlotReserve } from "./_reserve.ts";
import { OWNER_WORD, RECORD_HEADER, recordBytes, SegmentLog, SLOT_WORDS } from "./_segment_log.ts";
import type { SlotStore } from "./slot_store.ts";

/** A cached value, or null for a remembered "the source has no such key". */
export type StoredValue = ByteView | null;

/**
 * Bytes an entry costs outside its record, counted against the cache's bound: per slot, the cache's
 * links and expiry (16), this store's hash (4), the record's position, length word and generation side
 * by side (16), the index (5.3 to 10.7: 11), and an eviction policy's own state (up to 16: W-TinyLFU's
 * meta and entry time, 8, its sketch, 2 to 4, its two ghost lists of a sixteenth of the slots each, 18
 * to 36 bytes a ghost in typed arrays, so 2.3 to 4.5, and its sampled shadow, under 1; LFU's count, 8).
 * The entry's size is not kept: it is worked out again from the record's length.
 */
export const ENTRY_OVERHEAD = 16 + 12 + 8 + 11 + 16;

/** What the smallest entry costs: an empty key with a null value. */
const LEAST_COST = recordBytes(0) + ENTRY_OVERHEAD;

/** Flags in a slot's length word; the rest is the value's byte length. */
const NULL_VALUE = 0x80000000;
/** The value's own expiry differs from the entry's and is kept in the record, before the key. */
const OWN_EXPIRY = 0x40000000;
const LENGTH_MASK = 0x3fffffff;
/** The largest value the length word holds. */
const MAX_VALUE_BYTES = LENGTH_MASK;

/**
 * A slot's words in the log's {@linkcode SegmentLog.slotWords} (segment, offset, then this store's two:
 * the length word and the generation), declared here rather than imported: V8 reads an imported binding
 * through its module cell at every use.
 */
const WORDS = 4;
const LENGTH = 2;
const GENERATION = 3;
if (WORDS !== SLOT_WORDS || LENGTH !== OWNER_WORD) {
  throw new Error(
    `ByteStore expects the log's slot words ${WORDS} a slot, its own from word ${LENGTH}; ` +
      `the log has ${SLOT_WORDS} a slot, the owner's from word ${OWNER_WORD}`,
  );
}

const MAX_SEGMENT = 1 << 20;
const MIN_SEGMENT = 4096;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The segment size for a cache bound: 1/256 to 1/128 of it, a power of two from 4 KiB to 1 MiB, so a
 * small cache does not reserve a large segment and a large one cleans in steps of at most 1 MiB.
 *
 * @param maxBytes The cache's byte bound.
 * @returns Bytes per segment.
 * @example
 * ```ts
 * import { segmentBytesFor } from "./byte_store.ts";
 * segmentBytesFor(256 << 20); // 1048576
 * ```
 */
export function segmentBytesFor(maxBytes: number): number {
  let bytes = MIN_SEGMENT;
  while (bytes < MAX_SEGMENT && bytes * 128 <= maxBytes) bytes *= 2;
  return bytes;
}

/**
 * Keys and values (or null) as bytes. A record is the key's UTF-8 bytes and the value's bytes (plus the
 * value's own expiry when it differs from the entry's) in a {@linkcode SegmentLog}; per slot, beside
 * the record's position in the log's slot words, this store keeps the value's length and flags and a
 * generation that changes whenever the slot's record is replaced or freed, so a hit reads all it needs
 * of the slot from one cache line. The key's hash, which only the index's upkeep reads, has its own array.
 *
 * A hit returns a view that borrows the record's bytes ({@linkcode ByteView.borrow}): it costs one small
 * object and no copy, and reads the record's current position each time, so cleaning may move it. Once
 * the entry is replaced, evicted or deleted the generation differs and the view refuses to read.
 *
 * An entry costs its record (header, key, value, rounded up to 4) and {@linkcode ENTRY_OVERHEAD}. The
 * log's garbage, {@linkcode ByteStore.garbageBytes} (records freed and not yet reclaimed), the cache counts
 * against its bound too, and it asks {@linkcode ByteStore.reclaim} before it evicts. So the cache's byte bound
 * bounds the memory of the store (give or take three segments), from the first fill on: a fill holds as
 * many entries as the bound allows, and churn evicts entries as it turns records into garbage instead of
 * growing the memory.
 *
 * @example
 * ```ts
 * import { ByteStore } from "./byte_store.ts";
 * import { LruCache } from "../lru.ts";
 * import { ByteView } from "../byte_view.ts";
 * const cache = new LruCache<ByteView | null>({ maxBytes: 1 << 20, store: new ByteStore(1 << 20) });
 * cache.set("k", ByteView.of("hello"));
 * cache.get("k")?.toString(); // "hello"
 * ```
 */
export class ByteStore implements SlotStore<StoredValue>, ByteSource {
  readonly #log: SegmentLog;
  readonly #index = new KeyIndex();
  /** Memory for the hashes of every slot the byte bound allows, when that is not too many. */
  readonly #reserve: SlotReserve | undefined;
  #hashes: Uint32Array;
  /**
   * The log's slot words ({@linkcode WORDS} a slot): the record's position, then the value's length word
   * at {@linkcode LENGTH} and at {@linkcode GENERATION} a number that changes when the slot's record is
   * written, replaced or freed, and never goes back, not even on clear.
   */
  #slots: Uint32Array;
  /** The key `find` last looked up, its hash and UTF-8 length, for `cost` and `insert` right after. */
  #lastKey = "";
  #lastHash = 0;
  #lastLength = 0;
  /** Encoded non-ASCII keys, and a key being rewritten with its entry's new value. */
  #scratch = new Uint8Array(256);
  readonly #number = new Float64Array(1);
  readonly #numberWords = new Uint32Array(this.#number.buffer);

  /**
   * Makes an empty store.
   *
   * @param maxBytes The bound of the cache it serves, which sizes its segments.
   * @param slots Slots to make room for at first.
   */
  constructor(maxBytes: number, slots = 64) {
    const reserved = reservedSlots(maxBytes, LEAST_COST);
    this.#reserve = reserved > slots ? new SlotReserve(reserved, [4]) : undefined;
    this.#log = new SegmentLog(segmentBytesFor(maxBytes), slots, this.#reserve === undefined ? 0 : reserved);
    this.#hashes = this.#reserve?.uint32(0, slots) ?? new Uint32Array(slots);
    this.#slots = this.#log.slotWords;
  }

  /** The least an entry costs: an empty key with a null value. */
  get leastCost(): number {
    return LEAST_COST;
  }

  /** Entries held. */
  get size(): number {
    return this.#index.count;
  }

  /**
   * Bytes held that no entry's {@linkcode cost} counts: the log's garbage. The per-slot state of a slot
   * whose entry left is not counted, though it stays in memory for the next entry to take the slot: an
   * eviction then frees that much of the bound at once, so a cache evicts a few entries per write, not a
   * segment's worth in one write whenever the log's oldest segment dies.
   */
  get garbageBytes(): number {
    return this.#log.garbageBytes;
  }

  /** Frees some of the log's garbage when that is cheap enough (see {@linkcode SegmentLog.reclaim}). */
  reclaim(): boolean {
    return this.#log.reclaim();
  }

  /**
   * What the store holds, in bytes: live records, the log's garbage, segments in use and spare, and the
   * per-slot arrays and index (the arrays as allocated, including slots not yet used).
   */
  memory(): {
    records: number;
    garbage: number;
    segments: number;
    spare: number;
    index: number;
    cleanings: number;
  } {
    const log = this.#log;
    return {
      records: log.liveBytes,
      garbage: log.garbageBytes,
      segments: log.heldBytes,
      spare: log.spareBytes,
      index: this.#index.bytes + this.#hashes.byteLength + this.#slots.byteLength,
      cleanings: log.cleanings.count,
    };
  }

  /** The slot holding `key`, or 0. */
  find(key: string): number {
    const hash = murmur3(key);
    const length = lastHashedBytes();
    this.#lastKey = key;
    this.#lastHash = hash;
    this.#lastLength = length;
    const { table, mask, slotMask } = this.#index;
    // A place whose hash bits differ is passed over without reading anything else.
    for (let i = hash & mask;; i = (i + 1) & mask) {
      const place = table[i];
      if (place === 0) return 0;
      if (((place ^ hash) & ~slotMask) === 0 && this.#keyIs(place & slotMask, key, length)) {
        return place & slotMask;
      }
    }
  }

  /** The record's bytes and {@linkcode ENTRY_OVERHEAD}. */
  cost(key: string, value: StoredValue, expiresAt: number): number {
    if (key !== this.#lastKey) this.#remember(key);
    if (value !== null && value.byteLength > MAX_VALUE_BYTES) return Infinity;
    const own = value !== null && value.expiresAt !== expiresAt ? 8 : 0;
    return recordBytes(own + this.#lastLength + (value === null ? 0 : value.byteLength)) + ENTRY_OVERHEAD;
  }

  /** What the entry in `slot` costs: {@linkcode cost} again, from the length of its record. */
  costOf(slot: number): number {
    return recordBytes(this.#log.payloadOf(slot)) + ENTRY_OVERHEAD;
  }

  /** Writes a new entry's record and indexes it. */
  insert(slot: number, key: string, value: StoredValue, expiresAt: number): void {
    if (key !== this.#lastKey) this.#remember(key);
    this.#hashes[slot] = this.#lastHash;
    // Moved on at every write of the slot's record, as replace() and remove() do.
    this.#slots[slot * WORDS + GENERATION]++;
    this.#write(slot, key, this.#lastLength, value, expiresAt);
    const table = this.#index.table;
    this.#index.insert(slot, this.#hashes);
    if (this.#index.table !== table) arraysReplaced(table.byteLength);
  }

  /** Writes a new record for the entry in `slot`, with its key, and frees the old one. */
  replace(slot: number, value: StoredValue, expiresAt: number): void {
    // A view borrowed from this very entry must be read before its record is freed.
    const owned = value !== null && value.borrowed ? value.detach() : value;
    const length = this.#keyLength(slot);
    if (this.#scratch.length < length) this.#scratch = new Uint8Array(length * 2);
    const start = this.#keyStart(slot);
    this.#scratch.set(this.#log.bytesOf(slot).subarray(start, start + length));
    this.#log.free(slot);
    this.#slots[slot * WORDS + GENERATION]++;
    this.#write(slot, undefined, length, owned, expiresAt);
    this.#lastKey = "";
  }

  /** Frees the record and the index entry of `slot`. */
  remove(slot: number): void {
    this.#index.remove(slot, this.#hashes);
    this.#log.free(slot);
    const at = slot * WORDS;
    this.#slots[at + GENERATION]++;
    this.#slots[at + LENGTH] = 0;
  }

  /** Decodes the key in `slot`. */
  key(slot: number): string {
    const start = this.#keyStart(slot);
    return decoder.decode(this.#log.bytesOf(slot).subarray(start, start + this.#keyLength(slot)));
  }

  /**
   * A hit's value: null, or a view borrowing the record's bytes. Costs one small object: no copy, and
   * the bytes are found again (a shift and three array reads) each time the view is read.
   */
  value(slot: number, expiresAt: number): StoredValue {
    const at = slot * WORDS;
    const word = this.#slots[at + LENGTH];
    if ((word & NULL_VALUE) !== 0) return null;
    const own = (word & OWN_EXPIRY) !== 0 ? this.#ownExpiry(slot) : expiresAt;
    return ByteView.borrow(this, slot, this.#slots[at + GENERATION], word & LENGTH_MASK, own);
  }

  /** The value in `slot` as a copy that outlives the entry. */
  take(slot: number, expiresAt: number): StoredValue {
    return this.value(slot, expiresAt)?.detach() ?? null;
  }

  /** The value bytes of `slot` while its generation is still `generation`. */
  bytesOf(slot: number, generation: number): Uint8Array<ArrayBuffer> | undefined {
    if (this.#slots[slot * WORDS + GENERATION] !== generation) return undefined;
    const start = this.#keyStart(slot) + this.#keyLength(slot);
    // The constructor, not subarray(), which looks up a species constructor first and costs several times more.
    return new Uint8Array(
      this.#log.bytesOf(slot).buffer,
      start,
      this.#slots[slot * WORDS + LENGTH] & LENGTH_MASK,
    );
  }

  /** Makes room for slots below `slots`: longer views of the reserved memory, or copies into new arrays. */
  resize(slots: number): void {
    if (slots <= this.#hashes.length) return;
    this.#log.resize(slots);
    this.#slots = this.#log.slotWords;
    const reserve = this.#reserve;
    if (reserve !== undefined && slots <= reserve.slots) {
      this.#hashes = reserve.uint32(0, slots);
      return;
    }
    // This store's hashes and slot words (20 bytes a slot), and the cache's own (links and expiry: 16
    // bytes a slot), which it replaced just before calling.
    const replaced = this.#hashes.length * (20 + 16);
    const hashes = new Uint32Array(slots);
    hashes.set(this.#hashes);
    this.#hashes = hashes;
    arraysReplaced(replaced);
  }

  /** Forgets every entry; every slot's generation moves on, so no view borrowed before reads again. */
  clear(_slots: number): void {
    this.#log.clear();
    this.#index.clear();
    const words = this.#slots;
    for (let at = 0; at < words.length; at += WORDS) {
      words[at + LENGTH] = 0;
      words[at + GENERATION]++;
    }
    this.#lastKey = "";
  }

  #remember(key: string): void {
    this.#lastKey = key;
    this.#lastHash = murmur3(key);
    this.#lastLength = lastHashedBytes();
  }

  /** Appends the record of `slot`: its own expiry if any, the key (from `key`, or the scratch), the value. */
  #write(
    slot: number,
    key: string | undefined,
    keyLength: number,
    value: StoredValue,
    expiresAt: number,
  ): void {
    const source = value !== null && value.borrowed ? value.detach() : value;
    const valueLength = source === null ? 0 : source.byteLength;
    const own = source !== null && source.expiresAt !== expiresAt;
    const log = this.#log;
    log.append(slot, (own ? 8 : 0) + keyLength + valueLength);
    this.#slots[slot * WORDS + LENGTH] = source === null ? NULL_VALUE : valueLength | (own ? OWN_EXPIRY : 0);
    const bytes = log.bytesOf(slot);
    let at = log.offsetOf(slot) + RECORD_HEADER;
    if (own) {
      this.#number[0] = source.expiresAt;
      const words = log.wordsOf(slot);
      words[at >>> 2] = this.#numberWords[0];
      words[(at >>> 2) + 1] = this.#numberWords[1];
      at += 8;
    }
    if (key === undefined) bytes.set(this.#scratch.subarray(0, keyLength), at);
    else if (keyLength === key.length) {
      for (let i = 0; i < keyLength; i++) bytes[at + i] = key.charCodeAt(i);
    } else encoder.encodeInto(key, bytes.subarray(at, at + keyLength));
    at += keyLength;
    if (source !== null) source.withBytes((value) => bytes.set(value, at));
  }

  /** Whether `slot` holds `key`, whose UTF-8 length is `length`. */
  #keyIs(slot: number, key: string, length: number): boolean {
    const word = this.#slots[slot * WORDS + LENGTH];
    const log = this.#log;
    const own = (word & OWN_EXPIRY) !== 0 ? 8 : 0;
    const valueLength = (word & NULL_VALUE) !== 0 ? 0 : word & LENGTH_MASK;
    if (log.payloadOf(slot) - own - valueLength !== length) return false;
    const bytes = log.bytesOf(slot);
    const start = log.offsetOf(slot) + RECORD_HEADER + own;
    if (length === key.length) {
      for (let i = 0; i < length; i++) if (bytes[start + i] !== key.charCodeAt(i)) return false;
      return true;
    }
    if (this.#scratch.length < length) this.#scratch = new Uint8Array(length * 2);
    encoder.encodeInto(key, this.#scratch);
    for (let i = 0; i < length; i++) if (bytes[start + i] !== this.#scratch[i]) return false;
    return true;
  }

  #keyStart(slot: number): number {
    return this.#log.offsetOf(slot) + RECORD_HEADER +
      ((this.#slots[slot * WORDS + LENGTH] & OWN_EXPIRY) !== 0 ? 8 : 0);
  }

  #keyLength(slot: number): number {
    const word = this.#slots[slot * WORDS + LENGTH];
    const own = (word & OWN_EXPIRY) !== 0 ? 8 : 0;
    return this.#log.payloadOf(slot) - own - ((word & NULL_VALUE) !== 0 ? 0 : word & LENGTH_MASK);
  }

  /**
   * The value's own expiry (every value has one while stale-if-error is on): two word reads, since a
   * record starts on a word but not always on 8 bytes. Byte by byte it cost a hit about 200 instructions.
   */
  #ownExpiry(slot: number): number {
    const words = this.#log.wordsOf(slot);
    const at = (this.#log.offsetOf(slot) + RECORD_HEADER) >>> 2;
    const pair = this.#numberWords;
    pair[0] = words[at];
    pair[1] = words[at + 1];
    return this.#number[0];
  }
}
