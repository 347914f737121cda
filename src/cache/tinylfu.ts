/**
 * Window TinyLFU eviction (Einziger, Friedman and Manes, 2017), with the window sized by hill climbing.
 * New entries enter a small LRU window; an entry pushed out of the window joins the main area only if a
 * frequency sketch says it is used more often than the entry main would give up for it. Main is a
 * segmented LRU: a hit in probation promotes to protected (80% of main), whose overflow drops back to
 * probation. The window's share starts at 1% and moves toward whatever raises the hit ratio: larger
 * for recency-friendly workloads, smaller for frequency-friendly ones. A shadow LRU over a sample of the
 * keys lets it jump straight to plain LRU (the whole cache a window) when that is clearly better.
 * @module
 */
import type { Cache, CacheOptions } from "./policy.ts";
import { SlotCache } from "./_slot_cache.ts";
import { linkBefore } from "./_slot_list.ts";
import { murmur3 } from "./_hash.ts";
import { FrequencySketch } from "./_frequency_sketch.ts";
import { HillClimber } from "./_hill_climber.ts";
import { LruShadow } from "./_lru_shadow.ts";

/** Segments, in the order they lie along the slot list from its newest end. */
const WINDOW = 0;
const PROBATION = 1;
const PROTECTED = 2;
/** The segment bits of a slot that holds no entry, so a queued hit for it is skipped. */
const FREE = 3;
/**
 * A slot's meta word: bits 0-1 its segment, 2-5 its uses since it was last handed to the sketch, 6-9 the
 * sketch's halving count (mod 16) when those uses were counted, 10-31 the top 22 bits of its key's hash.
 * Keeping a resident entry's recent uses here means a hit never touches the sketch, whose random access
 * would cost a cache miss; they are handed over when the entry leaves.
 */
const USES_SHIFT = 2;
const EPOCH_SHIFT = 6;
const HASH_MASK = ~0x3ff;
/**
 * Hits queued before their bookkeeping (use count, segment move) is done together. Each is a few
 * likely cache misses; done in one loop, the misses of independent hits overlap, which makes `get` about
 * twice as fast on a cache larger than the CPU's caches. The queue is emptied before any eviction.
 */
const HIT_QUEUE = 64;
/** The most repeated hits one queued slot stands for. */
const MAX_REPEATS = 0xffff;

const INITIAL_WINDOW = 0.01;
const MAX_WINDOW = 1;
/** Protected's share of the main area. */
const PROTECTED_SHARE = 0.8;
/** Gets per hill-climbing sample, per entry the cache holds: enough to tell a real change from noise. */
const SAMPLE_PER_ENTRY = 0.5;
/** The fewest gets in a sample, so tiny caches do not adapt on noise. */
const MIN_SAMPLE = 256;
/**
 * A sampled share of keys (one in 2^bits, by hash) is also replayed through a shadow LRU scaled down by
 * the same share. The climber can get stuck at a small window when plain LRU, a full window, is better
 * but the windows between are worse; the shadow shows that, and the window then jumps to LRU. As few
 * as one key in 64 is sampled, to keep the hot path cheap, but no fewer than keep the shadow at least
 * this many entries, since a smaller one is too noisy.
 */
const SHADOW_MIN_ENTRIES = 256;
const SHADOW_MAX_BITS = 6;
/** How many standard deviations of sampling noise the shadow must beat the cache by, on sampled requests. */
const SHADOW_Z = 2;
/** Sampled requests after which the comparison's counts are halved, so it follows a changing workload. */
const SHADOW_HORIZON = 1024;

/**
 * A byte-bounded (and optionally entry-bounded) W-TinyLFU cache with per-entry absolute expiry and the
 * same semantics as {@linkcode LruCache} apart from which entry it evicts. The three segments lie end
 * to end in the shared slot list (window, probation, protected), each remembering where it starts, so
 * every operation is O(1) and an entry costs 4 bytes of arrays more than in LRU, plus the sketch's 2
 * and, in a cache of over 16,384 entries, a 64th of a shadow LRU's `Map` entry.
 *
 * @example
 * ```ts
 * import { TinyLfuCache } from "./tinylfu.ts";
 * const cache = new TinyLfuCache<string>({ maxEntries: 3, maxBytes: 1000, sizeOf: (v) => v.length });
 * for (const key of ["a", "b", "c", "a", "b", "a", "b"]) cache.get(key) ?? cache.set(key, key);
 * cache.set("x", "x"); // one use: loses to a twice-used entry, so it is the one evicted next
 * cache.set("y", "y");
 * cache.get("a"); // "a"
 * cache.get("b"); // "b"
 * ```
 */
export class TinyLfuCache<V> extends SlotCache<V> implements Cache<V> {
  /**
   * Per slot: segment, recent uses and the key's hash (see {@linkcode USES_SHIFT}), in one array, so a
   * hit reads one cache line more than LRU.
   */
  #meta = new Uint32Array(this.next.length);
  /** The newest slot of each segment, valid while its count is not 0. */
  readonly #heads = new Uint32Array(3);
  readonly #counts = new Uint32Array(3);
  readonly #maxEntries: number;
  #sketch: FrequencySketch;
  readonly #climber = new HillClimber(INITIAL_WINDOW, 0, MAX_WINDOW);
  /** The key `set` is placing, for `link`, which sees only its slot; overwrites never hash it. */
  #pendingKey = "";
  /** The entry a `set` is overwriting, which must not be given up to make room for its own growth. */
  #pinned = 0;
  readonly #hits = new Uint32Array(HIT_QUEUE);
  /** Per queued slot, the hits on it that came straight after the queued one (0 until its run ends). */
  readonly #repeats = new Uint16Array(HIT_QUEUE);
  /** The last queued slot (0 when the queue is empty), and the hits on it since it was queued. */
  #tail = 0;
  #tailRepeats = 0;
  #queuedHits = 0;
  #sampleGets = 0;
  #sampleHits = 0;
  /** Gets in the current sample, fixed when it starts. */
  #sampleLength = MIN_SAMPLE;
  readonly #shadow = new LruShadow();
  /** Hash bits that must be clear for a key to be sampled, and the share of keys that are. */
  #shadowMask = 0;
  #shadowScale = 1;
  /** Over recent sampled requests: how many, the shadow's hits minus the cache's, and where they differed. */
  #shadowRequests = 0;
  #shadowLead = 0;
  #shadowDisagreements = 0;

  /**
   * Makes an empty cache.
   *
   * @param options Bounds, sizing, eviction callback and clock; see {@linkcode CacheOptions}.
   * @throws {RangeError} When `maxBytes` is not positive or `maxEntries` is not a positive integer.
   */
  constructor(options: CacheOptions<V>) {
    super(options);
    this.#maxEntries = options.maxEntries ?? Infinity;
    this.#sketch = new FrequencySketch(Math.min(this.#maxEntries, this.next.length));
    this.#sampleShadow(this.next.length);
  }

  /** The admission window's current share of the entries, between 0 and 1 (1 is plain LRU); it adapts as gets arrive. */
  get windowFraction(): number {
    return this.#climber.fraction;
  }

  /** Entries in the admission window now. */
  get windowSize(): number {
    return this.#counts[WINDOW];
  }

  /**
   * Returns the live value for `key` and marks it used, or undefined when absent or expired; every
   * get also feeds the window's hill climbing.
   *
   * @param key The key to look up.
   * @returns The value, or undefined.
   */
  override get(key: string): V | undefined {
    const value = super.get(key);
    if (value !== undefined) this.#sampleHits++;
    if (++this.#sampleGets >= this.#sampleLength) this.#adapt();
    return value;
  }

  /**
   * Stores `value` under `key`; a new key enters the admission window, and counts as one use.
   *
   * @param key The key.
   * @param value The value; its size is `sizeOf(value)` plus the key's UTF-8 length.
   * @param expiresAt Absolute expiry in epoch milliseconds, 0 (the default) for never.
   * @throws {RangeError} When `sizeOf` returns a negative number or NaN.
   */
  override set(key: string, value: V, expiresAt = 0): void {
    this.#pendingKey = key;
    this.#pinned = 0;
    super.set(key, value, expiresAt);
  }

  /**
   * Queues a use of `slot`, for {@linkcode #use} to apply with others or before the next eviction. A run
   * of hits on one entry (a single hot key) takes one place in the queue and costs a compare and an
   * increment per hit.
   */
  protected touch(slot: number): void {
    this.#pinned = slot;
    if (slot === this.#tail) {
      if (++this.#tailRepeats === MAX_REPEATS) this.#applyHits();
      return;
    }
    const queued = this.#queuedHits;
    if (this.#tailRepeats !== 0) {
      this.#repeats[queued - 1] = this.#tailRepeats;
      this.#tailRepeats = 0;
    }
    this.#tail = slot;
    this.#hits[queued] = slot;
    if ((this.#queuedHits = queued + 1) === HIT_QUEUE) this.#applyHits();
  }

  /** Applies the queued uses, skipping slots whose entry has left since. */
  #applyHits(): void {
    const hits = this.#hits;
    const repeats = this.#repeats;
    const count = this.#queuedHits;
    if (this.#tailRepeats !== 0) repeats[count - 1] = this.#tailRepeats;
    this.#queuedHits = this.#tail = this.#tailRepeats = 0;
    for (let i = 0; i < count; i++) {
      this.#use(hits[i]);
      if (repeats[i] !== 0) {
        this.#useAgain(hits[i], repeats[i]);
        repeats[i] = 0;
      }
    }
  }

  /** Counts a use; promotes out of probation, or moves to the front of the slot's segment. */
  #use(slot: number): void {
    const meta = this.#meta[slot];
    // A slot freed and reused by another key meanwhile is counted for that key: a rare, harmless error.
    if ((meta & 3) === FREE) return;
    const sketch = this.#sketch;
    const halvings = sketch.halvings;
    const age = (halvings - (meta >>> EPOCH_SHIFT)) & 15;
    const uses = (age < 4 ? ((meta >>> USES_SHIFT) & 15) >>> age : 0) + 1;
    // A saturated count does not count toward halving, so a few very hot keys cannot force it alone.
    if (uses <= 15) sketch.tick();
    if ((meta & this.#shadowMask) === 0) this.#compare(meta & HASH_MASK, true);
    const segment = meta & 3;
    this.#meta[slot] = (meta & HASH_MASK) | ((sketch.halvings & 15) << EPOCH_SHIFT) |
      ((uses < 15 ? uses : 15) << USES_SHIFT) | segment;
    if (segment === PROBATION) {
      this.#moveTo(PROTECTED, slot);
      const counts = this.#counts;
      if (counts[PROTECTED] > PROTECTED_SHARE * (this.size - counts[WINDOW])) {
        this.#moveTo(PROBATION, this.#oldest(PROTECTED));
      }
      return;
    }
    // To the front of its own segment: not its head, so the head stays and no count changes.
    const head = this.#heads[segment];
    if (head === slot) return;
    const next = this.next;
    const prev = this.prev;
    const before = prev[slot];
    const after = next[slot];
    next[before] = after;
    prev[after] = before;
    linkBefore(next, prev, slot, head);
    this.#heads[segment] = slot;
  }

  /**
   * Counts `n` more uses of a slot just used: they change neither its place nor the shadow's, which has
   * just made it the newest entry, so each is a use for the sketch and an agreement for the comparison.
   */
  #useAgain(slot: number, n: number): void {
    const meta = this.#meta[slot];
    if ((meta & 3) === FREE) return;
    const sketch = this.#sketch;
    const prior = (meta >>> USES_SHIFT) & 15;
    if (prior < 15) sketch.tickBy(prior + n <= 15 ? n : 15 - prior);
    if ((meta & this.#shadowMask) === 0) this.#agreed(n);
    const uses = prior + n < 15 ? prior + n : 15;
    this.#meta[slot] = (meta & ~(15 << USES_SHIFT) & ~(15 << EPOCH_SHIFT)) |
      ((sketch.halvings & 15) << EPOCH_SHIFT) |
      (uses << USES_SHIFT);
  }

  /**
   * Chooses whom to give up for one more entry in the window. When the window is full, its oldest
   * entry is a candidate for main and duels main's victim on frequency; the loser goes. Otherwise the
   * window grows at main's expense.
   */
  protected victim(): number {
    if (this.#queuedHits !== 0) this.#applyHits();
    const slot = this.#choose();
    if (slot !== this.#pinned) return slot;
    // Only when an overwrite grows an entry that is alone in its segment: give up the oldest other one.
    const oldest = this.prev[0];
    return oldest === slot ? this.prev[oldest] : oldest;
  }

  /** The window-or-main decision, and the frequency duel, behind {@linkcode victim}. */
  #choose(): number {
    const counts = this.#counts;
    const mainVictim = counts[PROBATION] !== 0
      ? this.#oldest(PROBATION)
      : counts[PROTECTED] !== 0
      ? this.#oldest(PROTECTED)
      : 0;
    if (mainVictim === 0) return this.#oldest(WINDOW);
    if (counts[WINDOW] === 0 || counts[WINDOW] < this.#windowMax()) return mainVictim;
    const candidate = this.#oldest(WINDOW);
    // Ties go to the incumbent: a newcomer must show it is used more, or scans would churn main.
    if (this.#frequency(candidate) <= this.#frequency(mainVictim)) {
      return candidate;
    }
    this.#moveTo(PROBATION, candidate);
    return mainVictim;
  }

  /** Links a new entry in at the front of the window, overflowing the window's oldest into probation. */
  protected override link(slot: number): void {
    const sketch = this.#sketch;
    sketch.tick();
    const hash = murmur3(this.#pendingKey) & HASH_MASK;
    if ((hash & this.#shadowMask) === 0) this.#compare(hash, false);
    this.#meta[slot] = hash | ((sketch.halvings & 15) << EPOCH_SHIFT) | (1 << USES_SHIFT) | WINDOW;
    super.link(slot);
    this.#heads[WINDOW] = slot;
    this.#counts[WINDOW]++;
    // Only while the cache is filling: once full, victim() has already made room in the window.
    if (this.#counts[WINDOW] > this.#windowMax()) this.#moveTo(PROBATION, this.#oldest(WINDOW));
  }

  /** Unlinks a leaving entry, handing its recent uses to the sketch so they count if it comes back. */
  protected override unlink(slot: number): void {
    const meta = this.#meta[slot];
    const uses = this.#recentUses(meta);
    if (uses !== 0) this.#sketch.add(meta & HASH_MASK, uses);
    this.#detach(slot);
    this.#meta[slot] = meta | FREE;
  }

  /** Takes `slot` out of its segment, handing the segment's start on when it was the first. */
  #detach(slot: number): void {
    const segment = this.#meta[slot] & 3;
    if (this.#heads[segment] === slot) this.#heads[segment] = this.next[slot];
    this.#counts[segment]--;
    super.unlink(slot);
  }

  /** Uses of a resident entry's key: the sketch's history plus the entry's own recent uses. */
  #frequency(slot: number): number {
    const meta = this.#meta[slot];
    const count = this.#sketch.frequency(meta & HASH_MASK) + this.#recentUses(meta);
    return count < 15 ? count : 15;
  }

  /** The recent uses in `meta`, halved once for each sketch halving since they were counted. */
  #recentUses(meta: number): number {
    const age = (this.#sketch.halvings - (meta >>> EPOCH_SHIFT)) & 15;
    return age < 4 ? ((meta >>> USES_SHIFT) & 15) >>> age : 0;
  }

  protected override resized(slots: number, cleared: boolean): void {
    const meta = new Uint32Array(slots);
    if (cleared) {
      this.#counts.fill(0);
      this.#queuedHits = this.#tail = this.#tailRepeats = 0;
      this.#repeats.fill(0);
    } else meta.set(this.#meta);
    this.#meta = meta;
    // Without an entry bound the sketch grows with the slots; it starts afresh, which costs little
    // since growth doubles and so happens a few times in a cache's life.
    if (this.#maxEntries === Infinity || cleared) {
      this.#sketch = new FrequencySketch(Math.min(this.#maxEntries, slots));
      this.#sampleShadow(slots);
    }
  }

  /** Chooses the shadow's sampling rate for the entry bound, or else `slots`, and starts it afresh. */
  #sampleShadow(slots: number): void {
    const entries = this.#maxEntries === Infinity ? slots : this.#maxEntries;
    const bits = Math.max(0, Math.min(SHADOW_MAX_BITS, Math.floor(Math.log2(entries / SHADOW_MIN_ENTRIES))));
    this.#shadowMask = ((1 << bits) - 1) << 10;
    this.#shadowScale = 1 / (1 << bits);
    this.#shadow.clear();
    this.#shadowRequests = this.#shadowLead = this.#shadowDisagreements = 0;
  }

  /** The window's target size in entries, at least one so a new entry always has a place. */
  #windowMax(): number {
    return Math.max(1, Math.round(this.#climber.fraction * this.size));
  }

  /** Replays a sampled request through the shadow LRU, and counts whether it and the cache agreed. */
  #compare(hash: number, cacheHit: boolean): void {
    // Shifted to a small integer, which a Map keys without allocating.
    const lruHit = this.#shadow.access(hash >>> 10, Math.max(1, Math.round(this.size * this.#shadowScale)));
    if (lruHit !== cacheHit) {
      this.#shadowDisagreements++;
      this.#shadowLead += lruHit ? 1 : -1;
    }
    if (++this.#shadowRequests >= SHADOW_HORIZON) this.#fade();
  }

  /** Counts `n` sampled requests on which the shadow and the cache agreed. */
  #agreed(n: number): void {
    this.#shadowRequests += n;
    while (this.#shadowRequests >= SHADOW_HORIZON) this.#fade();
  }

  /** Halves the comparison's counts, so it follows a changing workload. */
  #fade(): void {
    this.#shadowRequests /= 2;
    this.#shadowLead /= 2;
    this.#shadowDisagreements /= 2;
  }

  /**
   * Ends a sample period: adapts the window, then shrinks it at once if it must, by demoting to probation.
   * When plain LRU clearly beat the cache on the sampled requests, the window becomes all of the cache.
   */
  #adapt(): void {
    const lead = this.#shadowLead;
    if (lead > 0 && lead > SHADOW_Z * Math.sqrt(this.#shadowDisagreements)) {
      this.#climber.jump(MAX_WINDOW);
      this.#shadowRequests = this.#shadowLead = this.#shadowDisagreements = 0;
    } else this.#climber.sample(this.#sampleHits / this.#sampleGets);
    this.#sampleGets = 0;
    this.#sampleHits = 0;
    this.#sampleLength = Math.max(MIN_SAMPLE, SAMPLE_PER_ENTRY * this.size);
    const max = this.#windowMax();
    while (this.#counts[WINDOW] > max) this.#moveTo(PROBATION, this.#oldest(WINDOW));
  }

  /** The first slot at or after `segment` along the list, or the sentinel when all of them are empty. */
  #start(segment: number): number {
    for (let s = segment; s < 3; s++) if (this.#counts[s] !== 0) return this.#heads[s];
    return 0;
  }

  /** The oldest slot of a segment that is not empty: the one just before the next segment's start. */
  #oldest(segment: number): number {
    return this.prev[this.#start(segment + 1)];
  }

  /** Moves a linked `slot` to the front of `segment`. */
  #moveTo(segment: number, slot: number): void {
    this.#detach(slot);
    linkBefore(this.next, this.prev, slot, this.#start(segment));
    this.#meta[slot] = (this.#meta[slot] & ~3) | segment;
    this.#heads[segment] = slot;
    this.#counts[segment]++;
  }
}
