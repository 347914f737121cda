/**
 * A group is one named key space cached across nodes: each key has one owner that loads it from the
 * source, other nodes fetch it from the owner and keep the popular ones in a small hot cache.
 * @module
 */
import { ByteView } from "./byte_view.ts";
import { EXPIRED, Freshness, REFRESH_DUE } from "./freshness.ts";
import { PeerBatch } from "./peer_batch.ts";
import { NoPeers, type PeerClient, type PeerPicker, PeerRefusal } from "./peers.ts";
import type { Cache, CacheStats } from "./policy.ts";
import type { KeyFilter } from "./key_filter.ts";
import { createCache } from "./policies.ts";
import { Singleflight } from "./singleflight.ts";
import { ByteStore } from "./store/byte_store.ts";

/**
 * Loads a key from the source of truth. Resolves to null when the source has no such key; a
 * {@linkcode ByteView} may carry its own expiry, other values get the group's `ttlMs`.
 */
export type Getter = (key: string) => Promise<Uint8Array | string | ByteView | null>;

/** Options of a {@linkcode Group}. */
export interface GroupOptions {
  /** The group's name, the same on every node; peers address it by this name. Must not be empty. */
  name: string;
  /** Loads keys this node owns (or must load because their owner failed). */
  getter: Getter;
  /**
   * Bytes for the main and hot cache together: every byte an entry takes (key, value, header, index and
   * the store's slack; see {@linkcode ByteStore}); a positive integer.
   */
  cacheBytes: number;
  /**
   * Share of `cacheBytes` for the hot cache of other nodes' keys, from 0 up to (not including) 1;
   * default 0.125. 0, or a share below one byte, disables the hot cache.
   */
  hotCacheFraction?: number;
  /** Lifetime of loaded and set values that carry no expiry of their own, in ms; 0 (default) for none. */
  ttlMs?: number;
  /**
   * Spreads expiries so that values loaded together do not expire together (a cache avalanche): a value
   * given the group's `ttlMs` lives `ttlMs * (1 - ttlJitter * r)` for a random r in [0, 1), never longer
   * than `ttlMs`. From 0 (off, the default here) up to (not including) 1. A TTL given with a write is kept
   * exactly.
   */
  ttlJitter?: number;
  /**
   * Keys the source may have (a penetration guard): where the getter would be called (on the key's owner,
   * or here when the owner failed), a key it rules out is answered "not found" without a source read or a
   * negative-cache entry. Sets and deletes add their key.
   */
  keyFilter?: KeyFilter;
  /** How long "the source has no such key" is remembered, in ms; default 5000, 0 disables it. */
  negativeTtlMs?: number;
  /**
   * Longest a copy of another node's key is kept, in ms; bounds how stale it can be after the key
   * changes on its owner. A positive integer, default 10000.
   */
  hotTtlMs?: number;
  /**
   * A get of an owned value this close to its expiry (ms) reloads it in the background while gets keep
   * the current value; a value nobody reads in that window just expires. 0 (default) disables it.
   */
  refreshAheadMs?: number;
  /**
   * How long past its expiry (ms) an owned value is kept to answer, marked stale (see
   * {@linkcode Group.isStale}), when its reload fails; older values never answer. 0 (default) disables it.
   */
  staleIfErrorMs?: number;
  /** Names each key's owner; default {@linkcode NoPeers}, so this node owns every key. */
  peers?: PeerPicker;
  /** Eviction policy of both caches, a name known to `createCache`; default "tinylfu". */
  policy?: string;
  /**
   * Decides whether a value fetched from its owner is kept in the hot cache; default: 1 in 10 at random,
   * as groupcache does, so only keys fetched often end up copied.
   */
  hotChance?: () => boolean;
  /** Clock in epoch milliseconds; default `Date.now`. */
  now?: () => number;
  /** Random numbers in [0, 1) for the TTL jitter; default `Math.random`. */
  random?: () => number;
}

/** Counters that explain what a group did; each names one branch of the load path. */
export interface GroupStats {
  /** Calls to `get`. */
  gets: number;
  /** Gets answered by a value in the main cache. */
  cacheHits: number;
  /** Gets answered by a copy in the hot cache. */
  hotHits: number;
  /** Gets answered by a remembered "no such key". */
  negativeHits: number;
  /**
   * Gets that waited for a load another get had already started, instead of starting their own
   * (groupcache's LoadsDeduped counts the opposite: the loads that did run).
   */
  loadsDeduped: number;
  /** Successful fetches from the key's owner, "not found" answers included. */
  peerLoads: number;
  /** Failed fetches from the key's owner; each is followed by a local load. */
  peerErrors: number;
  /** Successful getter calls, null results included. */
  localLoads: number;
  /** Getter calls that failed. */
  localLoadErrors: number;
  /** Successful getter calls for keys another node owns, made because the owner failed. */
  localFallbacks: number;
  /** Peers that failed to delete a key when a delete was broadcast. */
  peerDeleteErrors: number;
  /** Loads the key filter answered "not found" without asking the source. */
  filterRejections: number;
  /** Keys the key filter let through that the source did not have (its false positives, seen here). */
  filterFalsePositives: number;
  /** Background reloads of owned values read shortly before they expired (refresh-ahead). */
  refreshes: number;
  /** Gets (forwarded ones excepted) answered with an expired value because its reload failed. */
  staleAnswers: number;
}

/** The outcome of one key of {@linkcode Group.getMany}. */
export type KeyResult = PromiseSettledResult<ByteView | null>;

/** A cached value, or null for a remembered "the source has no such key". */
type Entry = ByteView | null;

/** A load in progress; a write to its key marks it stale, so its older result is returned but not kept. */
interface LoadTicket {
  stale: boolean;
}

/**
 * A named, distributed, read-through cache in front of one source, in the manner of groupcache, with
 * expiry, negative caching, set and delete.
 *
 * @example
 * ```ts
 * import { Group } from "./group.ts";
 *
 * const users = new Group({
 *   name: "users",
 *   cacheBytes: 1 << 20,
 *   getter: (id) => Promise.resolve(id === "1" ? JSON.stringify({ name: "Ada" }) : null),
 * });
 * (await users.get("1"))?.toString(); // '{"name":"Ada"}', loaded once then cached
 * await users.get("2"); // null, remembered for negativeTtlMs
 * ```
 */
export class Group {
  /** The group's name, as given. */
  readonly name: string;
  readonly #getter: Getter;
  readonly #ttlMs: number;
  readonly #ttlJitter: number;
  readonly #keyFilter: KeyFilter | undefined;
  readonly #random: () => number;
  readonly #negativeTtlMs: number;
  readonly #hotTtlMs: number;
  readonly #hotChance: () => boolean;
  readonly #now: () => number;
  #peers: PeerPicker;
  /** Keys this node owns. */
  readonly #main: Cache<Entry>;
  /** Copies of keys other nodes own; undefined when disabled. */
  readonly #hot: Cache<Entry> | undefined;
  /** Gets that may go to a peer. */
  readonly #fetches = new Singleflight<Entry>();
  /**
   * Getter calls, kept apart from #fetches so a forwarded get never waits on a peer: two nodes that
   * disagree about an owner then cannot wait on each other.
   */
  readonly #loads = new Singleflight<Entry>();
  readonly #pending = new Map<string, Set<LoadTicket>>();
  /** Refresh-ahead and stale-if-error; undefined when both are off, so a hit checks nothing more. */
  readonly #freshness: Freshness | undefined;
  /** `refreshAheadMs`, read on a hit: the one comparison a hit on an owned value makes. */
  readonly #aheadMs: number;
  /**
   * The time the main cache last read from the clock. Its `get` reads the clock to check an entry's
   * expiry, so right after a hit on an expiring entry this is the time of that hit: the freshness check
   * reuses it instead of reading the clock again, which costs more than the rest of a hit.
   */
  #mainClock = 0;
  /** Keys with a background refresh running. */
  readonly #refreshing = new Set<string>();
  readonly #stats: GroupStats = {
    gets: 0,
    cacheHits: 0,
    hotHits: 0,
    negativeHits: 0,
    loadsDeduped: 0,
    peerLoads: 0,
    peerErrors: 0,
    localLoads: 0,
    localLoadErrors: 0,
    localFallbacks: 0,
    peerDeleteErrors: 0,
    filterRejections: 0,
    filterFalsePositives: 0,
    refreshes: 0,
    staleAnswers: 0,
  };
  /** Entries each cache dropped because their key was written or deleted. */
  readonly #deletions = { main: 0, hot: 0 };

  /**
   * Makes a group with empty caches.
   *
   * @param options Name, getter, budget, expiry, peers and policy; see {@linkcode GroupOptions}.
   * @throws {TypeError | RangeError} When an option is invalid; the message names it.
   * @example
   * ```ts
   * import { Group } from "./group.ts";
   *
   * const group = new Group({ name: "g", cacheBytes: 4096, ttlMs: 60_000, getter: async (k) => k });
   * group.name; // "g"
   * ```
   */
  constructor(options: GroupOptions) {
    const {
      name,
      getter,
      cacheBytes,
      hotCacheFraction = 0.125,
      ttlMs = 0,
      ttlJitter = 0,
      keyFilter,
      negativeTtlMs = 5000,
      hotTtlMs = 10_000,
      refreshAheadMs = 0,
      staleIfErrorMs = 0,
      peers = NoPeers,
      policy = "tinylfu",
      hotChance = () => Math.random() < 0.1,
      now = Date.now,
      random = Math.random,
    } = options;
    if (typeof name !== "string" || name === "") {
      throw new TypeError(`name must be a non-empty string, got ${describe(name)}`);
    }
    requireFunction("getter", getter);
    requireInteger("cacheBytes", cacheBytes, 1);
    if (typeof hotCacheFraction !== "number" || !(hotCacheFraction >= 0 && hotCacheFraction < 1)) {
      throw new RangeError(
        `hotCacheFraction must be a number from 0 up to (not including) 1, got ${describe(hotCacheFraction)}`,
      );
    }
    requireInteger("ttlMs", ttlMs, 0);
    if (typeof ttlJitter !== "number" || !(ttlJitter >= 0 && ttlJitter < 1)) {
      throw new RangeError(
        `ttlJitter must be a number from 0 up to (not including) 1, got ${describe(ttlJitter)}`,
      );
    }
    if (
      keyFilter !== undefined &&
      (typeof keyFilter.mightContain !== "function" || typeof keyFilter.add !== "function")
    ) {
      throw new TypeError(`keyFilter must have mightContain and add methods, got ${describe(keyFilter)}`);
    }
    requireFunction("random", random);
    requireInteger("negativeTtlMs", negativeTtlMs, 0);
    requireInteger("hotTtlMs", hotTtlMs, 1);
    requireInteger("refreshAheadMs", refreshAheadMs, 0);
    requireInteger("staleIfErrorMs", staleIfErrorMs, 0);
    requirePicker(peers);
    requireFunction("hotChance", hotChance);
    requireFunction("now", now);

    this.name = name;
    this.#getter = getter;
    this.#ttlMs = ttlMs;
    this.#ttlJitter = ttlJitter;
    this.#keyFilter = keyFilter;
    this.#random = random;
    this.#negativeTtlMs = negativeTtlMs;
    this.#hotTtlMs = hotTtlMs;
    this.#peers = peers;
    this.#hotChance = hotChance;
    this.#now = now;
    const freshness = new Freshness({ refreshAheadMs, staleIfErrorMs });
    this.#freshness = freshness.enabled ? freshness : undefined;
    this.#aheadMs = refreshAheadMs;
    const hotBytes = Math.floor(cacheBytes * hotCacheFraction);
    // Values live as bytes in the caches' own stores, so what the caches count is the memory they take.
    const cacheOf = (maxBytes: number, clock: () => number) =>
      createCache<Entry>(policy, { maxBytes, store: new ByteStore(maxBytes), now: clock });
    const mainClock = this.#freshness === undefined ? now : () => this.#mainClock = now();
    this.#main = cacheOf(cacheBytes - hotBytes, mainClock);
    this.#hot = hotBytes > 0 ? cacheOf(hotBytes, now) : undefined;
  }

  /**
   * Returns the value of `key`: from the caches, else from its owner, else from the getter, with
   * concurrent gets of one key sharing one load.
   *
   * @param key The key.
   * @param options `local`: the get was forwarded by a peer, so load it here and never forward it again.
   * @returns The value, or null when the source has no such key.
   * @throws The getter's error, to every get waiting on that load; it is not cached.
   * @example
   * ```ts
   * import { Group } from "./group.ts";
   *
   * let loads = 0;
   * const group = new Group({ name: "g", cacheBytes: 4096, getter: async (k) => `v${++loads}:${k}` });
   * const [a, b] = await Promise.all([group.get("k"), group.get("k")]);
   * console.log(a?.toString(), b?.toString(), loads); // "v1:k" "v1:k" 1
   * ```
   */
  get(key: string, options: { local?: boolean } = {}): Promise<ByteView | null> {
    const cached = this.getCached(key);
    return cached !== undefined ? Promise.resolve(detached(cached)) : this.load(key, options);
  }

  /**
   * The first half of {@linkcode get}, without waiting: counts a get and answers from this node's
   * caches alone, so a server can answer a hit without a promise in between.
   *
   * The value borrows the cache's bytes, without a copy: read it at once (as `new Response(bytes)`
   * does, copying them), before anything can write to this group. A value kept across an `await` must
   * be detached ({@linkcode ByteView.detach}); a borrowed value read after its entry changed throws.
   *
   * @param key The key.
   * @returns The value, null for a remembered "not found", or undefined when the key must be loaded:
   * then call {@linkcode load}.
   * @example
   * ```ts
   * import { Group } from "./group.ts";
   *
   * const group = new Group({ name: "g", cacheBytes: 4096, getter: async (k) => k });
   * group.getCached("k"); // undefined
   * await group.load("k");
   * group.getCached("k")?.toString(); // "k"
   * ```
   */
  getCached(key: string): ByteView | null | undefined {
    this.#stats.gets++;
    return this.#lookup(key);
  }

  /**
   * The second half of {@linkcode get}, after {@linkcode getCached} found nothing: loads the key from its
   * owner or the getter, sharing the load with concurrent gets of the same key.
   *
   * @param key The key.
   * @param options `local`: the get was forwarded by a peer, so load it here and never forward it again.
   * @returns The value, or null when the source has no such key.
   * @throws The getter's error, to every get waiting on that load; it is not cached.
   */
  async load(key: string, options: { local?: boolean } = {}): Promise<ByteView | null> {
    if (options.local) return this.#loadLocally(key, true);
    const { value, shared } = await this.#fetches.do(key, () => this.#fetch(key));
    if (shared) this.#stats.loadsDeduped++;
    this.#countStale(value);
    return value;
  }

  /**
   * Gets many keys at once, in the order given: each from the caches, else from its owner, with one call
   * per owner for all the keys it owns, each key still sharing a load with concurrent gets of it.
   *
   * @param keys The keys; a key given twice is loaded once.
   * @param options `local`: the batch was forwarded by a peer, so load every key here.
   * @returns One settled outcome per key: the value (null when the source has none) or the error a
   * single get of that key would have thrown.
   * @example
   * ```ts
   * import { Group } from "./group.ts";
   *
   * const group = new Group({ name: "g", cacheBytes: 4096, getter: async (k) => (k === "x" ? null : k) });
   * const [a, x] = await group.getMany(["a", "x"]);
   * a.status === "fulfilled" && a.value?.toString(); // "a"
   * x.status === "fulfilled" && x.value; // null
   * ```
   */
  getMany(keys: readonly string[], options: { local?: boolean } = {}): Promise<KeyResult[]> {
    const batches = new Map<PeerClient, PeerBatch>();
    const outcomes = keys.map((key) => {
      const cached = this.getCached(key);
      if (cached !== undefined) return Promise.resolve(detached(cached));
      if (options.local) return this.#loadLocally(key, true);
      return this.#fetches.do(key, () => this.#fetchBatched(key, batches)).then(({ value, shared }) => {
        if (shared) this.#stats.loadsDeduped++;
        this.#countStale(value);
        return value;
      });
    });
    for (const [peer, batch] of batches) batch.send(peer, this.name);
    return Promise.allSettled(outcomes);
  }

  /**
   * Whether `view` answers past its expiry: a value kept for stale-if-error whose reload failed. Only
   * values from {@linkcode load} or {@linkcode getMany} can be stale; {@linkcode getCached} never
   * returns one.
   *
   * @param view A value this group returned.
   * @returns True when the value has expired.
   */
  isStale(view: ByteView): boolean {
    return view.expiresAt !== 0 && view.expiresAt <= this.#now();
  }

  /**
   * Stores a value: on its owner when another node owns the key, else here.
   *
   * @param key The key.
   * @param value The value; a {@linkcode ByteView} keeps its own expiry when it has one.
   * @param options `ttlMs`: lifetime when the value carries no expiry, default the group's `ttlMs`.
   * `local`: the set was forwarded by a peer, so store it here.
   * @throws The owner's error when forwarding fails.
   * @example
   * ```ts
   * import { Group } from "./group.ts";
   *
   * const group = new Group({ name: "g", cacheBytes: 4096, getter: async () => null });
   * await group.set("k", "v", { ttlMs: 1000 });
   * (await group.get("k"))?.toString(); // "v"
   * ```
   */
  async set(
    key: string,
    value: Uint8Array | string | ByteView,
    options: { ttlMs?: number; local?: boolean } = {},
  ): Promise<void> {
    const ttlMs = options.ttlMs ?? this.#ttlMs;
    requireInteger("ttlMs", ttlMs, 0);
    const view = this.#toView(value, options.ttlMs === undefined ? this.#jittered(ttlMs) : ttlMs);
    this.#keyFilter?.add(key);
    const peer = options.local ? undefined : this.#peers.pickPeer(key);
    if (peer === undefined) {
      this.#forgetCopies(key);
      this.#keep(this.#main, key, view, this.#mainExpiry(view.expiresAt));
      return;
    }
    try {
      await peer.set(this.name, key, view);
    } finally {
      // After the owner answered, so a fetch that raced the write cannot leave an old copy here.
      this.#forgetCopies(key);
    }
  }

  /**
   * Removes a key here and, unless `local`, on every peer, so no node keeps a copy of it.
   *
   * @param key The key.
   * @param options `local`: the delete was broadcast by a peer, so remove it here only.
   * @throws {AggregateError} After trying every peer, when some failed; the message names them.
   * @example
   * ```ts
   * import { Group } from "./group.ts";
   *
   * const group = new Group({ name: "g", cacheBytes: 4096, getter: async () => null });
   * await group.set("k", "v");
   * await group.delete("k");
   * await group.get("k"); // null: the getter is asked again
   * ```
   */
  async delete(key: string, options: { local?: boolean } = {}): Promise<void> {
    // A delete announces a change to the key (CreateCnfMetric invalidates this way): it may exist now.
    this.#keyFilter?.add(key);
    this.#forgetCopies(key);
    if (options.local) return;
    const peers = this.#peers.peers();
    const results = await Promise.allSettled(peers.map(async (peer) => await peer.delete(this.name, key)));
    // Again after the peers answered, so a fetch that raced the broadcast cannot leave an old copy here.
    this.#forgetCopies(key);
    const failed: PeerClient[] = [];
    const errors: unknown[] = [];
    results.forEach((result, i) => {
      if (result.status === "fulfilled") return;
      failed.push(peers[i]);
      errors.push(result.reason);
    });
    if (failed.length === 0) return;
    this.#stats.peerDeleteErrors += failed.length;
    throw new AggregateError(
      errors,
      `delete of key ${JSON.stringify(key)} in group "${this.name}" failed on ${failed.length} of ` +
        `${peers.length} peers: ${failed.map((peer) => peer.id).join(", ")}`,
    );
  }

  /**
   * Replaces the picker that names each key's owner, as when membership changes.
   *
   * @param picker The new picker.
   * @example
   * ```ts
   * import { Group } from "./group.ts";
   * import { NoPeers } from "./peers.ts";
   *
   * const group = new Group({ name: "g", cacheBytes: 4096, getter: async (k) => k });
   * group.setPeers(NoPeers);
   * ```
   */
  setPeers(picker: PeerPicker): void {
    requirePicker(picker);
    this.#peers = picker;
  }

  /**
   * Returns a snapshot of the group's counters.
   *
   * @returns The counters; later activity does not change the snapshot.
   * @example
   * ```ts
   * import { Group } from "./group.ts";
   *
   * const group = new Group({ name: "g", cacheBytes: 4096, getter: async (k) => k });
   * await group.get("k");
   * await group.get("k");
   * const { gets, cacheHits, localLoads } = group.stats(); // 2, 1, 1
   * ```
   */
  stats(): GroupStats {
    return { ...this.#stats };
  }

  /**
   * Returns the counters of the main cache (keys this node owns) or the hot cache (copies of other
   * nodes' keys); a disabled hot cache reports zeros.
   *
   * @param which "main" or "hot".
   * @returns A snapshot of that cache's counters.
   * @example
   * ```ts
   * import { Group } from "./group.ts";
   *
   * const group = new Group({ name: "g", cacheBytes: 4096, getter: async (k) => k });
   * await group.get("k");
   * group.cacheStats("main").items; // 1
   * ```
   */
  cacheStats(which: "main" | "hot"): CacheStats {
    const cache = which === "main" ? this.#main : this.#hot;
    return cache?.stats() ?? { bytes: 0, items: 0, gets: 0, hits: 0, evictions: 0, expirations: 0 };
  }

  /**
   * Returns how many entries of the main or hot cache were removed because their key was set or
   * deleted (the cache's "deleted" eviction reason; its own counters hold "evicted" and "expired").
   *
   * @param which "main" or "hot".
   * @returns The count since the group was made.
   * @example
   * ```ts
   * import { Group } from "./group.ts";
   *
   * const group = new Group({ name: "g", cacheBytes: 4096, getter: async (k) => k });
   * await group.get("k");
   * await group.delete("k");
   * group.cacheDeletions("main"); // 1
   * ```
   */
  cacheDeletions(which: "main" | "hot"): number {
    return this.#deletions[which];
  }

  /** Looks in the main cache, then the hot cache, counting the kind of hit. */
  #lookup(key: string): Entry | undefined {
    const main = this.#main.get(key);
    if (main !== undefined) {
      if (main === null) {
        this.#stats.negativeHits++;
        return main;
      }
      // One comparison while the value is fresh; the window and expiry are looked at only past it.
      if (
        this.#freshness === undefined || this.#mainClock < main.expiresAt - this.#aheadMs ||
        this.#stillServes(key, main, this.#freshness)
      ) {
        this.#stats.cacheHits++;
        return main;
      }
    }
    const hot = this.#hot?.get(key);
    if (hot !== undefined) {
      if (hot === null) this.#stats.negativeHits++;
      else this.#stats.hotHits++;
    }
    return hot;
  }

  /**
   * A hit past the fresh part of a value's life: within the refresh window it answers and starts a
   * refresh; past its expiry it answers only if its reload fails (see #loadLocally).
   */
  #stillServes(key: string, value: ByteView, freshness: Freshness): boolean {
    const now = this.#now();
    const state = freshness.stateOf(value.expiresAt, now);
    if (state === EXPIRED) return false;
    if (state === REFRESH_DUE) this.#refresh(key, now, freshness);
    return true;
  }

  /** Reloads an owned key in the background, once, swapping the new value in when it arrives. */
  #refresh(key: string, now: number, freshness: Freshness): void {
    if (this.#refreshing.has(key) || !freshness.mayRefresh(now)) return;
    // The main cache may still hold keys this node owned before the ring changed: leave those to expire.
    if (this.#peers.pickPeer(key) !== undefined) return;
    this.#refreshing.add(key);
    this.#loads.do(key, () => this.#callGetter(key, true, false)).then(
      ({ shared }) => {
        if (!shared) this.#stats.refreshes++;
      },
      () => freshness.refreshFailed(this.#now()),
    ).finally(() => this.#refreshing.delete(key));
  }

  /** Counts an answer (not a forwarded one) made with a stale value. */
  #countStale(value: Entry): void {
    if (value !== null && this.#freshness !== undefined && this.isStale(value)) this.#stats.staleAnswers++;
  }

  /** The value kept past its expiry for `key`, when it may answer now after a failed reload. */
  #staleValue(key: string): ByteView | undefined {
    if (this.#freshness === undefined || this.#freshness.staleIfErrorMs === 0) return undefined;
    const kept = this.#main.get(key);
    if (kept === undefined || kept === null) return undefined;
    // Answered through a promise, so a copy that outlives later writes to the cache.
    return this.#freshness.mayServeStale(kept.expiresAt, this.#now()) ? kept.detach() : undefined;
  }

  /**
   * The body of a key's flight in {@linkcode getMany}: a key this node owns loads here, others join the
   * one call to their owner, whose answer is then kept as a single get's would be.
   */
  #fetchBatched(key: string, batches: Map<PeerClient, PeerBatch>): Promise<Entry> {
    const peer = this.#peers.pickPeer(key);
    if (peer === undefined) return this.#loadLocally(key, true);
    let batch = batches.get(peer);
    if (batch === undefined) batches.set(peer, batch = new PeerBatch());
    const answer = batch.add(key);
    return this.#fromOwner(key, () => answer);
  }

  /** The body of a get's flight: re-check the caches, then ask the owner, or load here. */
  async #fetch(key: string): Promise<Entry> {
    // An earlier flight may have filled the caches between this get's lookup and its flight starting.
    const cached = this.#lookup(key);
    if (cached !== undefined) return detached(cached);
    const peer = this.#peers.pickPeer(key);
    if (peer === undefined) return this.#loadLocally(key, true);
    return await this.#fromOwner(key, () => peer.get(this.name, key));
  }

  /** Fetches a key from its owner, keeping some answers as hot copies; loads here if the owner fails. */
  async #fromOwner(key: string, ask: () => Promise<Entry>): Promise<Entry> {
    const ticket = this.#begin(key);
    let value: Entry;
    try {
      value = await ask();
    } catch (error) {
      // The owner answered, refusing the request itself: loading here would answer as if it had no value.
      if (error instanceof PeerRefusal) throw error;
      // The owner is down or slow: answer from the source rather than fail the get.
      this.#stats.peerErrors++;
      return this.#loadLocally(key, false);
    } finally {
      this.#end(key, ticket);
    }
    this.#stats.peerLoads++;
    if (value !== null && !ticket.stale && this.#hot !== undefined && this.#hotChance()) {
      this.#keep(this.#hot, key, value, this.#hotExpiry(value.expiresAt));
    }
    return value;
  }

  /**
   * Calls the getter once for all concurrent loads of `key`. A key we own is kept in the main cache; one
   * loaded because its owner failed is kept only as a hot copy, whose expiry bounds its staleness.
   */
  async #loadLocally(key: string, owned: boolean): Promise<Entry> {
    try {
      const { value, shared } = await this.#loads.do(key, () => this.#callGetter(key, owned, true));
      if (shared) this.#stats.loadsDeduped++;
      return value;
    } catch (error) {
      // Each waiter looks for itself, so gets that joined a failed background refresh are covered too.
      const stale = this.#staleValue(key);
      if (stale !== undefined) return stale;
      throw error;
    }
  }

  /** Calls the getter and keeps its value; `recheck`: answer from the caches first if they hold the key. */
  async #callGetter(key: string, owned: boolean, recheck: boolean): Promise<Entry> {
    if (recheck) {
      const cached = this.#lookup(key);
      if (cached !== undefined) return detached(cached);
    }
    // Checked where the source would be read, so a key set on its owner alone is never ruled out by
    // another node; and not remembered, so a flood of unknown keys takes no cache room.
    if (this.#keyFilter !== undefined && !this.#keyFilter.mightContain(key)) {
      this.#stats.filterRejections++;
      return null;
    }
    const ticket = this.#begin(key);
    try {
      let value: Entry;
      try {
        const loaded = await this.#getter(key);
        value = loaded === null ? null : this.#toView(loaded, this.#jittered(this.#ttlMs));
      } catch (error) {
        this.#stats.localLoadErrors++;
        throw error;
      }
      this.#stats.localLoads++;
      if (!owned) this.#stats.localFallbacks++;
      if (value === null && this.#keyFilter !== undefined) this.#stats.filterFalsePositives++;
      if (!ticket.stale) this.#keepLoaded(key, value, owned);
      return value;
    } finally {
      this.#end(key, ticket);
    }
  }

  #keepLoaded(key: string, value: Entry, owned: boolean): void {
    const now = this.#now();
    if (value === null) {
      if (this.#negativeTtlMs === 0) return;
      const expiresAt = now + this.#negativeTtlMs;
      if (owned) this.#keep(this.#main, key, null, expiresAt);
      else if (this.#hot !== undefined) this.#keep(this.#hot, key, null, this.#hotExpiry(expiresAt));
    } else if (owned) {
      this.#keep(this.#main, key, value, this.#mainExpiry(value.expiresAt));
    } else if (this.#hot !== undefined) {
      this.#keep(this.#hot, key, value, this.#hotExpiry(value.expiresAt));
    }
  }

  /** Stores an entry unless it has already expired. */
  #keep(cache: Cache<Entry>, key: string, value: Entry, expiresAt: number): void {
    if (expiresAt !== 0 && expiresAt <= this.#now()) return;
    cache.set(key, value, expiresAt);
  }

  /** The group's TTL shortened by up to `ttlJitter` of itself, so values loaded together expire apart. */
  #jittered(ttlMs: number): number {
    if (this.#ttlJitter === 0 || ttlMs === 0) return ttlMs;
    return Math.max(1, Math.round(ttlMs * (1 - this.#ttlJitter * this.#random())));
  }

  /** An owned value is kept through its stale window, if the group has one. */
  #mainExpiry(expiresAt: number): number {
    return this.#freshness === undefined ? expiresAt : this.#freshness.keepUntil(expiresAt);
  }

  /**
   * A hot copy lives until the value expires or hotTtlMs passes, whichever comes first. With refresh-ahead
   * it ends where the refresh window begins, so reads in the window reach the owner and make it refresh.
   */
  #hotExpiry(expiresAt: number): number {
    const cap = this.#now() + this.#hotTtlMs;
    return expiresAt === 0 ? cap : Math.min(expiresAt - this.#aheadMs, cap);
  }

  #toView(value: Uint8Array | string | ByteView, ttlMs: number): ByteView {
    const expiresAt = ttlMs > 0 ? this.#now() + ttlMs : 0;
    if (value instanceof ByteView) return value.expiresAt !== 0 ? value : value.withExpiry(expiresAt);
    if (typeof value === "string" || value instanceof Uint8Array) return ByteView.of(value, expiresAt);
    throw new TypeError(
      `group "${this.name}": a value must be a Uint8Array, string, ByteView or null, got ${describe(value)}`,
    );
  }

  /** Drops this node's copies of `key` and detaches loads already running, which may predate a write. */
  #forgetCopies(key: string): void {
    if (this.#main.delete(key)) this.#deletions.main++;
    if (this.#hot?.delete(key)) this.#deletions.hot++;
    for (const ticket of this.#pending.get(key) ?? []) ticket.stale = true;
    this.#fetches.forget(key);
    this.#loads.forget(key);
  }

  #begin(key: string): LoadTicket {
    const ticket = { stale: false };
    const tickets = this.#pending.get(key);
    if (tickets === undefined) this.#pending.set(key, new Set([ticket]));
    else tickets.add(ticket);
    return ticket;
  }

  #end(key: string, ticket: LoadTicket): void {
    const tickets = this.#pending.get(key);
    tickets?.delete(ticket);
    if (tickets?.size === 0) this.#pending.delete(key);
  }
}

/** A cached entry in a form that outlives later writes to the cache, for answers that go through a promise. */
function detached(entry: Entry): Entry {
  return entry === null ? null : entry.detach();
}

function requireInteger(field: string, value: unknown, min: 0 | 1): void {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    const kind = min === 0 ? "a non-negative integer" : "a positive integer";
    throw new RangeError(`${field} must be ${kind}, got ${describe(value)}`);
  }
}

function requireFunction(field: string, value: unknown): void {
  if (typeof value !== "function") throw new TypeError(`${field} must be a function, got ${describe(value)}`);
}

function requirePicker(picker: unknown): void {
  const p = picker as Partial<PeerPicker> | null;
  if (typeof p?.pickPeer !== "function" || typeof p.peers !== "function") {
    throw new TypeError(
      `peers must be a PeerPicker with pickPeer and peers methods, got ${describe(picker)}`,
    );
  }
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null || typeof value !== "object") return String(value);
  return value.constructor?.name ?? "object";
}
