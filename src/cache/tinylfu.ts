/**
 * Window TinyLFU eviction (Einziger, Friedman and Manes, 2017), adapting to the workload. New entries
 * enter a small LRU window; an entry pushed out of the window joins the main area only if a frequency
 * sketch says it is used more often than the entry main would give up for it. Main is segmented: a hit
 * in probation promotes to protected (80% of main), whose overflow drops back to probation; protected
 * keeps its recency as a CLOCK, a bit an entry, rather than by a move on every hit.
 *
 * The window starts at the published 1% and adapts in two ways, neither on the hit path:
 * - ghost lists of what each part recently gave up (ARC's reasoning): a miss on a key the window just
 *   lost is a vote for a larger window, one on a key main just lost, or a hit on one of probation's
 *   oldest entries, a vote for a smaller one; the window moves a step once the votes add up to one;
 * - a shadow of the other fixed choice, over a sample of the keys: plain LRU while the cache is
 *   W-TinyLFU, W-TinyLFU while it is plain LRU. Their disagreements feed a sequential sign test, checked
 *   once per capacity's worth of requests and aged every period of ten times the capacity; when the
 *   shadow is clearly ahead the cache switches to it, so it does about as well as the better of the two
 *   on a workload it has never seen, and decides early when the evidence is overwhelming early.
 *
 * {@linkcode FixedTinyLfuCache} is the same policy with the window fixed, as the published design.
 * @module
 */
import type { Cache, CacheOptions } from "./policy.ts";
import { SlotCache } from "./_slot_cache.ts";
import { linkBefore } from "./_slot_list.ts";
import { murmur3 } from "./_hash.ts";
import { FrequencySketch } from "./_frequency_sketch.ts";
import { GhostList } from "./_ghost_list.ts";
import { LruShadow } from "./_lru_shadow.ts";
import { WTinyLfuShadow } from "./_wtinylfu_shadow.ts";

/**
 * The slot list's layout (see `_slot_list.ts`), declared here rather than imported: V8 reads an imported
 * binding through its module cell at every use, which on the hit path cost LRU about a tenth of its speed.
 */
const NEXT = 0;
const PREV = 1;

/** Segments, in the order they lie along the slot list from its newest end. */
const WINDOW = 0;
const PROBATION = 1;
const PROTECTED = 2;
/** The segment bits of a slot that holds no entry, so a queued hit for it is skipped. */
const FREE = 3;
/**
 * A slot's meta byte: bits 0-1 its segment, 2-5 its uses since they were last handed to the sketch (at
 * most 15, as a sketch counter), and {@linkcode SAMPLED}. Keeping a resident entry's recent uses here
 * means a hit never touches the sketch, whose random access would cost a cache miss; they are handed over
 * when the entry leaves and, for every entry, just before the sketch halves, so the sketch ages them
 * exactly as if each use had been added at once. A byte a slot, the bytes of all slots together are a
 * small array that stays in the CPU's caches, so a hit's bookkeeping reads about the memory LRU's does.
 */
const USES_SHIFT = 2;
const USES_MASK = 15 << USES_SHIFT;
/** Meta bit: the key is one of the shadow's sample, so its hits take the slower path through the shadow. */
const SAMPLED = 1 << 6;
/**
 * Meta bit: the protected entry was hit since it was last put at protected's front. While the cache runs
 * W-TinyLFU, protected is a CLOCK (second chance) rather than an LRU list: a hit on an entry the shadow
 * does not sample keeps its queued bookkeeping (its use is counted) but, instead of moving the entry,
 * sets this bit; when protected must give up its oldest, an oldest entry with the bit goes back to the
 * front without it instead. One bit an entry approximates recency well enough
 * for the segment of entries already used twice (CLOCK's classic trade against LRU), and a hit then
 * writes a byte instead of splicing three slots' links. Caffeine-style designs reorder protected on every
 * read; this one reorders it only when it must choose. The window and probation keep their exact order,
 * which the admission duel reads, and sampled keys move as before.
 */
const REFERENCED = 1 << 7;
/**
 * Words per slot in the shared slot array: the two links. The policy's per-slot state lies in arrays of
 * its own: beside the links, it made the array twice LRU's, which on a cache larger than the CPU's caches
 * cost a hit more than everything else the policy does for it.
 */
const WORDS = 2;
/**
 * A key's hash as the sketch, the ghost lists and the sample see it: its top 26 bits (two keys that share
 * all of them share every sketch counter; with 22 bits, the pair or two of such keys in a trace of a few
 * thousand keys cost W-TinyLFU measurably).
 */
const HASH_SHIFT = 6;
const HASH_MASK = -1 << HASH_SHIFT;
/**
 * Hits queued before their bookkeeping (use count, then a move or protected's reference bit) is done
 * together. A hit itself only writes its slot into the queue; the bookkeeping ran faster in one loop
 * than inside each hit on the lru benchmark's stream (docs/BENCHMARKS.md, "tinylfu"), even protected's
 * one-byte update: done in the hit, the meta byte's read and the counters wait in line with the lookups.
 * The queue is emptied before any eviction or insertion, so entries end up in the order the requests came.
 */
const HIT_QUEUE = 64;
/** The most repeated hits one run on an entry stands for, before its bookkeeping is done. */
const MAX_REPEATS = 0xffff;

/** The window's share at the start, and of the fixed configuration: W-TinyLFU's published 1%. */
const INITIAL_WINDOW = 0.01;
/**
 * Fewest disagreements the sequential test's boundary is tuned for (Robbins' mixture parameter): the
 * boundary is tightest around this count, and far above a plain z-test's below it.
 */
const BOUNDARY_DISAGREEMENTS = 32;
/** The longest wait after a switch, in periods: the backoff stops doubling there. */
const MAX_SETTLE_PERIODS = 64;
/** Protected's share of the main area. */
const PROTECTED_SHARE = 0.8;
/**
 * A sampled share of keys (one in 2^bits, by hash) is also replayed through a shadow LRU as large as
 * the cache's share of them, so the cache knows how plain LRU would have done. As few as one key in 64 is sampled,
 * to keep the hit path cheap, but no fewer than keep the shadow at least this many entries, since a
 * smaller one is too noisy.
 */
const SHADOW_MIN_ENTRIES = 256;
const SHADOW_MAX_BITS = 6;

/**
 * How the window adapts. Every field has a default, chosen as docs/BENCHMARKS.md describes (a check on
 * trace families held out of the choice), and is an option so that check can choose them again on part
 * of the traces.
 */
export interface TinyLfuAdaptation {
  /** A fixed window share from 0 to 1 (0 still keeps one entry), with no adaptation; omitted, it adapts. */
  fixedWindow?: number;
  /**
   * Size of each ghost list (the window's and main's recent losers) as a share of the cache, and the
   * window's step: a ghost hit says that this much more room in that part would have hit. Default
   * 0.03125, as the check on held-out trace families in docs/BENCHMARKS.md chose (half of the 6.25% step
   * of Caffeine's hill climber).
   */
  ghostShare?: number;
  /**
   * Requests (hits and insertions) per comparison period with the shadow, per entry of capacity, rounded
   * to whole checks (one per capacity's worth of requests); default 10, the sketch's aging period, so a
   * period sees one full generation of frequencies. The evidence is halved at each period's end, and
   * after a switch it is tested only there.
   */
  samplePeriod?: number;
  /**
   * Strictness of the sequential test by which the shadow of the other choice must beat the cache for
   * the cache to switch to it: the chance that noise alone ever passes it is below e^(-z^2/2); default 4
   * (about 1 in 3,000), as the check on held-out trace families in docs/BENCHMARKS.md chose.
   */
  shadowZ?: number;
}

/**
 * A byte-bounded (and optionally entry-bounded) W-TinyLFU cache with per-entry absolute expiry and the
 * same semantics as {@linkcode LruCache} apart from which entry it evicts. The three segments lie end
 * to end in the shared slot list (window, probation, protected), each remembering where it starts, so
 * every operation is O(1) and an entry costs 9 bytes of arrays more than in LRU, plus the sketch's 2
 * and, in a cache of over 16,384 entries, a 64th of a shadow's `Map` entry, and two ghost lists'
 * `Map` entries for a 16th of the entries.
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
  /** The order of the last entry into probation, to tell its oldest entries (see {@linkcode #probationHit}). */
  #probationSeq = 0;
  /** The newest slot of each segment, valid while its count is not 0. */
  readonly #heads = new Uint32Array(3);
  readonly #counts = new Uint32Array(3);
  readonly #maxEntries: number;
  #sketch: FrequencySketch;
  /**
   * Uses counted toward the sketch's next halving (those that could still raise a count: an entry's
   * first 15 between handovers), kept here because the uses themselves wait in the meta bytes.
   */
  #additions = 0;
  /** The sketch's `sampleSize`, kept here for the hit's bookkeeping. */
  #ageAt: number;
  /** The window's target share of the entries. */
  #fraction: number;
  /** False for a fixed window: then every use goes straight to the sketch, as the reference W-TinyLFU. */
  readonly #adaptive: boolean;
  readonly #ghostShare: number;
  /** Entries each ghost list holds, and the window's step: `ghostShare` of the entry bound, or else of the slots. */
  #ghostLength = 1;
  readonly #samplePeriod: number;
  readonly #shadowZ: number;
  /** Window candidates that lost their duel, and main entries given up: see {@linkcode #ghostHit}. */
  readonly #windowGhosts = new GhostList();
  readonly #mainGhosts = new GhostList();
  /** The key `set` is placing, for `link`, which sees only its slot; overwrites never hash it. */
  #pendingKey = "";
  /** The entry a `set` is overwriting, which must not be given up to make room for its own growth. */
  #pinned = 0;
  /** With a fixed window: whether the key `set` is placing was already counted, before its duel. */
  #counted = false;
  /** Per slot: its meta byte (see {@linkcode USES_SHIFT}), its key's hash, and its order into probation. */
  #meta: Uint8Array;
  #hashes: Int32Array;
  #entered: Uint32Array;
  /** The slots hit since the queue was last emptied, in order. */
  readonly #hits = new Uint32Array(HIT_QUEUE);
  #queuedHits = 0;
  /**
   * The bookkeeping's batch, which the queue's emptying does not end: a run of hits on one entry (its
   * slot, and the hits after the first) counts as one entry of the batch and is applied once it ends, so
   * a single hot key costs one move or mark; a batch ends after 64 such runs, or before an eviction or insertion,
   * and then counts its requests toward the comparison with the shadow.
   */
  #runSlot = 0;
  #runRepeats = 0;
  #batchRuns = 0;
  #batchRequests = 0;
  /**
   * Whether a hit on an entry the shadow does not sample is only counted and moved, or marked in protected
   * (adaptive W-TinyLFU).
   */
  #plainHits: boolean;
  #sampleRequests = 0;
  /** Requests between checks of the comparison: the capacity (never reached for a fixed window). */
  #sampleLength = Infinity;
  readonly #shadow = new LruShadow();
  /**
   * True while the cache runs as plain LRU (the window is all of it), after the shadow LRU clearly beat
   * it; then the shadow is a W-TinyLFU at the window share it left, `#leftFraction`, to tell when to
   * go back.
   */
  #lruMode = false;
  /** Ghost votes not yet acted on, in entries: see {@linkcode #tally}. */
  #balance = 0;
  #leftFraction = INITIAL_WINDOW;
  /**
   * Periods left in which nothing is compared, while the cache and a new shadow settle after a switch,
   * and how many the next switch will wait: each switch doubles it, so a workload on which the two
   * choices are close (and the comparison noisier than its test assumes, since nearby requests are
   * alike) cannot make the cache flap between them.
   */
  #settling = 0;
  /** Checks (one per capacity's worth of requests) so far in the current period, and per period. */
  #checks = 0;
  #periodChecks = 10;
  #settlePeriods = 1;
  readonly #wtinylfuShadow: WTinyLfuShadow;
  /** Hash bits that must be clear for a key to be sampled (none is, for a fixed window). */
  #shadowMask = HASH_MASK;
  /**
   * Sampled keys the cache holds now: the shadow is given as many entries, so it has the room the cache
   * gives the sample. Scaling the capacity by the sampling rate instead would err by however far the
   * sample's share of the keys strays from that rate, which on a working set a few percent larger than
   * the cache is as much as the whole difference between the two policies.
   */
  #sampledResident = 0;
  /** The key the LRU shadow saw last (-1 for none): it is the shadow's newest. */
  #lastShadowKey = -1;
  /**
   * Since the last switch, on sampled requests, halved at every period's end: the shadow's hits minus the
   * cache's, and where they differed.
   */
  #shadowLead = 0;
  #shadowDisagreements = 0;

  /**
   * Makes an empty cache.
   *
   * @param options Bounds, sizing, eviction callback and clock; see {@linkcode CacheOptions}.
   * @param adaptation How the window adapts, or `fixedWindow` for none; the defaults suit any workload.
   * @throws {RangeError} When `maxBytes` is not positive, `maxEntries` is not a positive integer, or an
   *   adaptation field is out of range.
   */
  constructor(options: CacheOptions<V>, adaptation: TinyLfuAdaptation = {}) {
    super(options);
    const { fixedWindow, ghostShare = 0.03125, samplePeriod = 10, shadowZ = 4 } = adaptation;
    if (fixedWindow !== undefined && !(fixedWindow >= 0 && fixedWindow <= 1)) {
      throw new RangeError(`fixedWindow must be a fraction from 0 to 1, got ${String(fixedWindow)}`);
    }
    if (!(ghostShare > 0 && ghostShare <= 1)) {
      throw new RangeError(`ghostShare must be a fraction above 0, at most 1, got ${String(ghostShare)}`);
    }
    if (!(samplePeriod > 0) || !(shadowZ >= 0)) {
      throw new RangeError("samplePeriod must be positive, shadowZ at least 0");
    }
    this.#adaptive = fixedWindow === undefined;
    this.#fraction = fixedWindow ?? INITIAL_WINDOW;
    this.#ghostShare = ghostShare;
    this.#samplePeriod = samplePeriod;
    this.#shadowZ = shadowZ;
    this.#maxEntries = options.maxEntries ?? Infinity;
    // With an entry bound the sketch is sized for it at once; without, for the slots, growing with them.
    this.#sketch = new FrequencySketch(this.#maxEntries === Infinity ? this.slots : this.#maxEntries);
    this.#ageAt = this.#sketch.sampleSize;
    this.#wtinylfuShadow = new WTinyLfuShadow(this.#sketch, HASH_SHIFT);
    this.#plainHits = this.#adaptive;
    this.#meta = new Uint8Array(this.slots);
    this.#hashes = new Int32Array(this.slots);
    this.#entered = new Uint32Array(this.slots);
    this.#restart(this.slots);
  }

  /** The admission window's current share of the entries, between 0 and 1 (1 is plain LRU); it adapts as requests arrive. */
  get windowFraction(): number {
    return this.#lruMode ? 1 : this.#fraction;
  }

  /** Entries in the admission window now. */
  get windowSize(): number {
    return this.#counts[WINDOW];
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
    // Queued hits first: then the only one queued when the policy chooses a victim is this set's own.
    if (this.#queuedHits !== 0 || this.#runSlot !== 0) this.#applyHits();
    this.#pendingKey = key;
    this.#pinned = 0;
    this.#counted = false;
    super.set(key, value, expiresAt);
  }

  /** Queues a use of `slot`, for {@linkcode #drain} to apply with others or before the next eviction. */
  protected touch(slot: number): void {
    const queued = this.#queuedHits;
    this.#hits[queued] = slot;
    if ((this.#queuedHits = queued + 1) === HIT_QUEUE) this.#drain();
  }

  /** Applies every queued use and ends the batch, as before an eviction or an insertion. */
  #applyHits(): void {
    this.#drain();
    if (this.#runSlot !== 0) this.#apply(this.#runSlot, this.#runRepeats);
    this.#runSlot = this.#runRepeats = this.#batchRuns = 0;
    this.#endBatch();
  }

  /**
   * Empties the queue: applies each run of hits on one entry once the next begins, and ends a batch
   * after 64 runs (or a run of {@linkcode MAX_REPEATS}), keeping the last run open, since the next hit
   * may extend it.
   */
  #drain(): void {
    const hits = this.#hits;
    const count = this.#queuedHits;
    this.#queuedHits = 0;
    let run = this.#runSlot;
    let repeats = this.#runRepeats;
    let runs = this.#batchRuns;
    this.#batchRequests += count;
    for (let i = 0; i < count; i++) {
      const slot = hits[i];
      if (slot === run) {
        if (++repeats !== MAX_REPEATS) continue;
      } else {
        if (run !== 0) this.#apply(run, repeats);
        run = slot;
        repeats = 0;
        if (++runs !== HIT_QUEUE) continue;
      }
      // The batch ends here: the hits after this one count toward the next.
      this.#apply(run, repeats);
      run = repeats = runs = 0;
      const later = count - 1 - i;
      this.#batchRequests -= later;
      this.#endBatch();
      this.#batchRequests = later;
    }
    this.#runSlot = run;
    this.#runRepeats = repeats;
    this.#batchRuns = runs;
  }

  /** Counts a finished batch's requests toward the comparison, checking it once a capacity's worth came. */
  #endBatch(): void {
    const requests = this.#batchRequests;
    this.#batchRequests = 0;
    if ((this.#sampleRequests += requests) >= this.#sampleLength) this.#adapt();
  }

  /**
   * Applies a run of hits on `slot`: the first, then `repeats` more. A single hit on an entry in the
   * window or protected that the shadow does not sample, the common case, is counted here, and moved to
   * the window's front or marked {@linkcode REFERENCED} in protected.
   */
  #apply(slot: number, repeats: number): void {
    const meta = this.#meta;
    const m = meta[slot];
    if (repeats !== 0 || !this.#plainHits || (m & (SAMPLED | 1)) !== 0) {
      this.#use(slot, 1);
      if (repeats !== 0) this.#use(slot, repeats);
      return;
    }
    if ((m & USES_MASK) !== USES_MASK) {
      meta[slot] = m + (1 << USES_SHIFT);
      if (++this.#additions >= this.#ageAt) this.#age();
    }
    if ((m & 3) === PROTECTED) meta[slot] |= REFERENCED;
    else this.#toFront(WINDOW, slot);
  }

  /** Moves `slot` to the front of `segment`, its own: the head changes, no count does. */
  #toFront(segment: number, slot: number): void {
    const heads = this.#heads;
    const head = heads[segment];
    if (head === slot) return;
    const links = this.links;
    const at = slot * WORDS;
    const before = links[at + PREV];
    const after = links[at + NEXT];
    links[before * WORDS + NEXT] = after;
    links[after * WORDS + PREV] = before;
    // linkBefore written out: an imported function is loaded from its module cell at every call.
    const newer = links[head * WORDS + PREV];
    links[newer * WORDS + NEXT] = slot;
    links[at + PREV] = newer;
    links[at + NEXT] = head;
    links[head * WORDS + PREV] = slot;
    heads[segment] = slot;
  }

  /**
   * Counts `n` uses of `slot`; promotes out of probation, or moves to the front of the slot's segment.
   * Repeats after the first change neither its place nor the shadow's (it is already the newest).
   */
  #use(slot: number, n: number): void {
    const meta = this.#meta[slot];
    // A slot freed and reused by another key meanwhile is counted for that key: a rare, harmless error.
    if ((meta & 3) === FREE) return;
    const segment = meta & 3;
    const hash = this.#hashes[slot];
    if (!this.#adaptive) {
      for (let i = 0; i < n; i++) this.#sketch.increment(hash);
    } else {
      const sampled = (meta & SAMPLED) !== 0;
      // A sampled key is replayed through the shadow; repeats hit in both, no disagreement to count.
      if (sampled && n === 1) this.#compare(hash, true);
      if (sampled && this.#lruMode) {
        // The W-TinyLFU shadow duels on the sketch, so while it runs its keys' uses go there at once.
        if (this.#sketch.add(hash, n) && (this.#additions += n) >= this.#ageAt) this.#age();
      } else {
        const prior = (meta & USES_MASK) >>> USES_SHIFT;
        if (prior < 15) {
          const uses = prior + n < 15 ? prior + n : 15;
          this.#meta[slot] = (meta & ~USES_MASK) | (uses << USES_SHIFT);
          if ((this.#additions += uses - prior) >= this.#ageAt) this.#age();
        }
      }
    }
    if (n !== 1) return;
    if (this.#lruMode && segment !== WINDOW) {
      // As plain LRU every hit goes to the front of the one recency order, the window; left in main, an
      // entry just used would be evicted before the window's oldest.
      this.#moveTo(WINDOW, slot);
      return;
    }
    if (segment === PROBATION) {
      if (this.#adaptive && !this.#lruMode) this.#probationHit(slot);
      this.#moveTo(PROTECTED, slot);
      const counts = this.#counts;
      if (counts[PROTECTED] > PROTECTED_SHARE * (this.#capacity() - counts[WINDOW])) {
        this.#moveTo(PROBATION, this.#protectedOldest());
      }
      return;
    }
    this.#toFront(segment, slot);
  }

  /**
   * Ends a generation of the sketch: hands every resident entry's recent uses to it, then halves it, so
   * those uses age exactly as if they had been added one by one.
   */
  #age(): void {
    this.#handOver();
    this.#sketch.halve();
    this.#additions >>>= 1;
  }

  /** Hands every resident entry's recent uses to the sketch, as if each had been added at once. */
  #handOver(): void {
    const meta = this.#meta;
    const hashes = this.#hashes;
    const sketch = this.#sketch;
    for (let slot = 1; slot < meta.length; slot++) {
      const m = meta[slot];
      if ((m & USES_MASK) !== 0 && (m & 3) !== FREE) {
        sketch.add(hashes[slot], (m & USES_MASK) >>> USES_SHIFT);
        meta[slot] = m & ~USES_MASK;
      }
    }
  }

  /**
   * Chooses whom to give up for one more entry in the window. When the window is full, its oldest
   * entry is a candidate for main and duels main's victim on frequency; the loser goes. Otherwise the
   * window grows at main's expense.
   */
  protected victim(): number {
    // `set` emptied the queue, so a slot queued now is the entry it is overwriting (see below).
    if (this.#queuedHits !== 0) {
      this.#pinned = this.#hits[this.#queuedHits - 1];
      this.#applyHits();
    }
    // The reference W-TinyLFU counts every request before anything else, a miss before its duel too.
    if (!this.#adaptive && this.#pinned === 0 && !this.#counted) {
      this.#counted = true;
      this.#sketch.increment(murmur3(this.#pendingKey) & HASH_MASK);
    }
    const slot = this.#choose();
    if (slot !== this.#pinned) return slot;
    // Only when an overwrite grows an entry that is alone in its segment: give up the oldest other one.
    const oldest = this.prevOf(0);
    return oldest === slot ? this.prevOf(oldest) : oldest;
  }

  /** The window-or-main decision, and the frequency duel, behind {@linkcode victim}. */
  #choose(): number {
    const counts = this.#counts;
    const mainVictim = this.#mainVictim();
    if (mainVictim === 0) return this.#lost(this.#windowGhosts, this.#oldest(WINDOW));
    // A window below its target grows: main gives up its oldest to make room.
    if (counts[WINDOW] === 0 || counts[WINDOW] < this.#windowMax()) {
      return this.#lost(this.#mainGhosts, mainVictim);
    }
    const candidate = this.#oldest(WINDOW);
    // Ties go to the incumbent: a newcomer must show it is used more, or scans would churn main.
    if (this.#frequency(candidate) <= this.#frequency(mainVictim)) {
      return this.#lost(this.#windowGhosts, candidate);
    }
    this.#moveTo(PROBATION, candidate);
    return this.#lost(this.#mainGhosts, mainVictim);
  }

  /** Main's oldest entry, in probation or else protected; 0 when main is empty. */
  #mainVictim(): number {
    const counts = this.#counts;
    return counts[PROBATION] !== 0
      ? this.#oldest(PROBATION)
      : counts[PROTECTED] !== 0
      ? this.#protectedOldest()
      : 0;
  }

  /** Remembers that `slot`'s entry is given up from the part `ghosts` follows, and returns it. */
  #lost(ghosts: GhostList, slot: number): number {
    if (this.#adaptive) {
      ghosts.add(this.#hashes[slot] >>> HASH_SHIFT, this.#ghostLength);
    }
    return slot;
  }

  /** Links a new entry in at the front of the window, overflowing the window's oldest into probation. */
  protected override link(slot: number): void {
    // Queued hits first, so every entry's place is as if each hit had been applied at once.
    if (this.#queuedHits !== 0 || this.#runSlot !== 0) this.#applyHits();
    const hash = murmur3(this.#pendingKey) & HASH_MASK;
    this.#hashes[slot] = hash;
    if (this.#adaptive) {
      this.#ghostHit(hash >>> HASH_SHIFT);
      if ((hash & this.#shadowMask) === 0) {
        this.#sampledResident++;
        this.#compare(hash, false);
        this.#meta[slot] = SAMPLED | WINDOW;
        if (this.#sketch.add(hash, 1) && ++this.#additions >= this.#ageAt) this.#age();
      } else {
        this.#meta[slot] = (1 << USES_SHIFT) | WINDOW;
        if (++this.#additions >= this.#ageAt) this.#age();
      }
    } else {
      this.#meta[slot] = WINDOW;
      if (!this.#counted) this.#sketch.increment(hash);
      this.#counted = false;
    }
    super.link(slot);
    this.#heads[WINDOW] = slot;
    this.#counts[WINDOW]++;
    if (++this.#sampleRequests >= this.#sampleLength) this.#adapt();
    // Only while the cache is filling: once full, victim() has already made room in the window.
    if (this.#counts[WINDOW] > this.#windowMax()) this.#moveTo(PROBATION, this.#oldest(WINDOW));
  }

  /** Unlinks a leaving entry, handing its recent uses to the sketch so they count if it comes back. */
  protected override unlink(slot: number): void {
    const meta = this.#meta[slot];
    if ((meta & USES_MASK) !== 0) this.#sketch.add(this.#hashes[slot], (meta & USES_MASK) >>> USES_SHIFT);
    if (this.#adaptive && (meta & SAMPLED) !== 0) this.#sampledResident--;
    this.#detach(slot);
    this.#meta[slot] = (meta & ~USES_MASK) | FREE;
  }

  /** Takes `slot` out of its segment, handing the segment's start on when it was the first. */
  #detach(slot: number): void {
    const segment = this.#meta[slot] & 3;
    if (this.#heads[segment] === slot) this.#heads[segment] = this.links[slot * WORDS + NEXT];
    this.#counts[segment]--;
    super.unlink(slot);
  }

  /** Uses of a resident entry's key: the sketch's count plus the entry's uses not yet handed to it. */
  #frequency(slot: number): number {
    const uses = (this.#meta[slot] & USES_MASK) >>> USES_SHIFT;
    const count = this.#sketch.frequency(this.#hashes[slot]) + uses;
    return count < 15 ? count : 15;
  }

  protected override resized(slots: number, cleared: boolean): void {
    const meta = new Uint8Array(slots);
    const hashes = new Int32Array(slots);
    const entered = new Uint32Array(slots);
    if (cleared) {
      this.#counts.fill(0);
      this.#queuedHits = this.#runSlot = this.#runRepeats = 0;
      this.#batchRuns = this.#batchRequests = 0;
    } else {
      meta.set(this.#meta);
      hashes.set(this.#hashes);
      entered.set(this.#entered);
    }
    this.#meta = meta;
    this.#hashes = hashes;
    this.#entered = entered;
    // Without an entry bound the sketch grows with the slots; it starts afresh, which costs little
    // since growth doubles and so happens a few times in a cache's life.
    if (this.#maxEntries === Infinity || cleared) {
      this.#sketch = new FrequencySketch(this.#maxEntries === Infinity ? slots : this.#maxEntries);
      this.#ageAt = this.#sketch.sampleSize;
      this.#wtinylfuShadow.sketch = this.#sketch;
      this.#additions = 0;
      for (let slot = 1; slot < slots; slot++) meta[slot] &= ~USES_MASK;
      this.#restart(slots);
    }
  }

  /**
   * Sizes the sample period and the shadow's sampling rate for the entry bound, or else `slots`, and
   * starts both afresh.
   */
  #restart(slots: number): void {
    if (!this.#adaptive) return;
    const entries = this.#maxEntries === Infinity ? slots : this.#maxEntries;
    this.#sampleLength = Math.max(1, entries);
    this.#periodChecks = Math.max(1, Math.round(this.#samplePeriod));
    this.#ghostLength = Math.max(1, Math.round(this.#ghostShare * entries));
    this.#windowGhosts.clear();
    this.#mainGhosts.clear();
    const bits = Math.max(0, Math.min(SHADOW_MAX_BITS, Math.floor(Math.log2(entries / SHADOW_MIN_ENTRIES))));
    this.#shadowMask = ((1 << bits) - 1) << HASH_SHIFT;
    this.#sampledResident = 0;
    const meta = this.#meta;
    const hashes = this.#hashes;
    for (let slot = this.nextOf(0); slot !== 0; slot = this.nextOf(slot)) {
      if ((hashes[slot] & this.#shadowMask) === 0) {
        meta[slot] |= SAMPLED;
        this.#sampledResident++;
      } else meta[slot] &= ~SAMPLED;
    }
    this.#shadow.clear();
    this.#lastShadowKey = -1;
    this.#wtinylfuShadow.clear();
    this.#restartComparison();
  }

  /**
   * The window's target size in entries, at least one so a new entry always has a place. It is a share
   * of the capacity, not of the entries held, so while an entry-bounded cache fills, its window already
   * has its full size and main takes only what overflows it, as in the published design.
   */
  #windowMax(): number {
    return this.#lruMode ? this.size : Math.max(1, Math.round(this.#fraction * this.#capacity()));
  }

  /** Entries the cache holds when full: its entry bound, or else (bytes bind) the entries it holds now. */
  #capacity(): number {
    return this.#maxEntries === Infinity ? this.size : this.#maxEntries;
  }

  /**
   * Replays a sampled request through the shadow of the other choice (LRU, or W-TinyLFU while the cache
   * runs as LRU), and counts whether it and the cache agreed.
   */
  #compare(hash: number, cacheHit: boolean): void {
    // Shifted to a small integer, which a Map keys without allocating.
    const key = hash >>> HASH_SHIFT;
    const capacity = Math.max(1, this.#sampledResident);
    let shadowHit: boolean;
    if (this.#lruMode) shadowHit = this.#wtinylfuShadow.access(key, capacity, this.#leftFraction);
    else {
      // The LRU shadow's newest key hits again and stays newest: with the cache hitting too, there is
      // nothing to count or move. A hot sampled key is mostly such hits, and the shadow's `Map` costs
      // several times a hit's own work.
      if (cacheHit && key === this.#lastShadowKey) return;
      this.#lastShadowKey = key;
      shadowHit = this.#shadow.access(key, capacity);
    }
    if (this.#settling !== 0 || shadowHit === cacheHit) return;
    this.#shadowDisagreements++;
    this.#shadowLead += shadowHit ? 1 : -1;
  }

  /**
   * Moves the window on a miss for a key one of the parts gave up lately (ARC's reasoning, applied to
   * W-TinyLFU's two parts). A window candidate that lost its duel and is back within the ghost list's
   * length would have hit with that much more window; an entry main gave up, with that much more main.
   * Each such miss is a vote for the part that would have hit. Keys that come
   * back only after longer (a loop larger than the cache) move nothing, since neither part could keep them.
   */
  #ghostHit(hash: number): void {
    if (this.#lruMode) return;
    if (this.#windowGhosts.take(hash)) this.#tally(1);
    else if (this.#mainGhosts.take(hash)) this.#tally(-1);
  }

  /**
   * Adds votes (in entries, positive for a larger window) to the balance, and moves the window by a
   * ghost list's length once they add up to that much either way. Moving in such steps, not a vote at a
   * time, keeps the window still while votes merely cancel out: each change of the window costs a main
   * entry given up, or a window entry let into main, without a duel.
   */
  #tally(votes: number): void {
    const balance = (this.#balance += votes);
    const step = this.#ghostLength;
    if (balance < step && balance > -step) return;
    this.#balance = 0;
    const size = Math.max(1, this.size);
    const fraction = this.#fraction + (balance > 0 ? step : -step) / size;
    this.#fraction = Math.min(1 - this.#ghostShare, Math.max(0, fraction));
  }

  /**
   * Runs after every capacity's worth of requests: counts down a settling wait at a period's end, tests
   * the comparison when it may, and ages it at a period's end.
   */
  #adapt(): void {
    this.#sampleRequests = 0;
    const periodEnd = ++this.#checks >= this.#periodChecks;
    if (periodEnd) this.#checks = 0;
    if (this.#settling !== 0) {
      if (periodEnd) this.#settling--;
      return;
    }
    // Until the first switch the cache and the shadow started alike (empty), so their comparison is fair
    // from the start and is tested at every check; after one, the new shadow started empty against a
    // full cache, and evidence gathered over less than a period (less than one generation of the sketch)
    // may reflect only a phase of the workload: then only a period's end is tested.
    if (periodEnd || this.#settlePeriods === 1) this.#test();
    if (periodEnd) {
      // The evidence ages as the sketch does, so a workload that changes is judged on what it is now.
      this.#shadowLead /= 2;
      this.#shadowDisagreements /= 2;
    }
  }

  #restartComparison(): void {
    this.#shadowLead = this.#shadowDisagreements = 0;
    this.#checks = 0;
    this.#sampleRequests = 0;
  }

  /**
   * Tests the comparison so far (a sequential sign test on the sampled requests where the shadow and the
   * cache disagreed). When the shadow of the other choice is ahead by more than the boundary allows
   * noise to be, the cache switches: to plain LRU (the window all of it), or from
   * it back to the window share it left. Some workloads (alternating sweeps) are served well by exact LRU
   * and by nothing close to it, which the ghost lists, a step at a time, do not reach.
   */
  #test(): void {
    const lead = this.#shadowLead;
    if (!(lead > 0)) return;
    // Robbins' normal-mixture boundary for a +-1 walk: the chance that sampling noise alone ever crosses
    // it, at any count of disagreements, is below e^(-z^2/2), so testing the evidence as it accumulates,
    // as often as it is, does not add false switches as repeated z-tests would.
    const spread = this.#shadowDisagreements + BOUNDARY_DISAGREEMENTS;
    const z = this.#shadowZ;
    if (lead * lead <= spread * (z * z + Math.log(spread / BOUNDARY_DISAGREEMENTS))) return;
    this.#restartComparison();
    // The cache takes a while to turn over to its new policy, and the new shadow starts empty: compared
    // now, either could look worse than it is, so the next period only lets them settle.
    this.#settling = this.#settlePeriods;
    this.#settlePeriods = Math.min(MAX_SETTLE_PERIODS, 2 * this.#settlePeriods);
    if (!this.#lruMode) {
      this.#lruMode = true;
      this.#plainHits = false;
      // The W-TinyLFU shadow reads the sketch: give it the uses the entries still hold.
      this.#handOver();
      this.#leftFraction = this.#fraction;
      this.#wtinylfuShadow.clear();
      return;
    }
    this.#lruMode = false;
    this.#plainHits = true;
    this.#fraction = this.#leftFraction;
    this.#balance = 0;
    this.#shadow.clear();
    this.#lastShadowKey = -1;
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
    return this.prevOf(this.#start(segment + 1));
  }

  /**
   * Protected's oldest entry not hit since it was last put at the front (CLOCK's hand): each older one
   * that was goes to the front, losing its {@linkcode REFERENCED} bit, for a second chance. Since no bit
   * is set meanwhile, the walk ends within one lap of the segment. Only while hits set the bit: as LRU,
   * and with a fixed window, protected's oldest is taken as it is.
   */
  #protectedOldest(): number {
    let slot = this.#oldest(PROTECTED);
    if (!this.#plainHits) return slot;
    const meta = this.#meta;
    for (let lap = this.#counts[PROTECTED]; lap !== 0 && (meta[slot] & REFERENCED) !== 0; lap--) {
      meta[slot] &= ~REFERENCED;
      this.#toFront(PROTECTED, slot);
      slot = this.#oldest(PROTECTED);
    }
    return slot;
  }

  /** Moves a linked `slot` to the front of `segment`. */
  #moveTo(segment: number, slot: number): void {
    this.#detach(slot);
    linkBefore(this.links, slot, this.#start(segment));
    this.#meta[slot] = (this.#meta[slot] & ~(REFERENCED | 3)) | segment;
    this.#heads[segment] = slot;
    this.#counts[segment]++;
    if (segment === PROBATION) this.#entered[slot] = ++this.#probationSeq;
  }

  /**
   * A hit on one of probation's oldest entries (within a ghost list's length of its end, by order of
   * entry) is one a main smaller by that much would have missed: a vote against growing the window, the
   * counterpart of a main ghost's. Without it, the window's ghosts alone vote on workloads where main
   * never gives anything up (a scan a little larger than the cache), and grow the window for hits that
   * main would have paid for.
   */
  #probationHit(slot: number): void {
    const oldest = this.#oldest(PROBATION);
    const entered = this.#entered;
    if (entered[slot] - entered[oldest] < this.#ghostLength) this.#tally(-1);
  }
}

/**
 * W-TinyLFU with its window fixed at a share of the cache (1% by default), and every use counted in the
 * sketch at once, as the published design and the reference simulator behind ../shared/traces do: the
 * policy for a workload known to reward frequency.
 *
 * @example
 * ```ts
 * import { FixedTinyLfuCache } from "./tinylfu.ts";
 * const cache = new FixedTinyLfuCache<true>({ maxEntries: 100, maxBytes: 1e6, sizeOf: () => 1 });
 * cache.windowFraction; // 0.01
 * ```
 */
export class FixedTinyLfuCache<V> extends TinyLfuCache<V> {
  /**
   * Makes an empty cache.
   *
   * @param options Bounds, sizing, eviction callback and clock; see {@linkcode CacheOptions}.
   * @param window The window's share of the entries, from 0 to 1; default 0.01.
   * @throws {RangeError} As {@linkcode TinyLfuCache}, or when `window` is out of range.
   */
  constructor(options: CacheOptions<V>, window = INITIAL_WINDOW) {
    super(options, { fixedWindow: window });
  }
}
