/**
 * The penetration guard of a group whose source can list its keys: a Bloom filter of the keys that
 * exist, rebuilt from the source now and then, so a key it rules out is answered "not found" without a
 * source read. It never hides a key that exists: keys written through the cache are added at once, a
 * rebuild keeps the keys added while it ran, and until the first rebuild succeeds it rules nothing out.
 * @module
 */
import { BloomFilter } from "./bloom_filter.ts";

/** What a {@linkcode Group} asks of a key filter. */
export interface KeyFilter {
  /** False only when the source certainly has no such key. */
  mightContain(key: string): boolean;
  /** Records that the key may exist now (it was written, or its change was announced). */
  add(key: string): void;
}

/** Figures of a {@linkcode SourceKeyFilter}, for metrics. */
export interface KeyFilterStats {
  /** Keys in the current filter (those listed by the last rebuild, plus those added since). */
  keys: number;
  /** Memory of the current filter, in bytes. */
  bytes: number;
  /** Completed rebuilds. */
  rebuilds: number;
  /** Whether a rebuild has completed, so that the filter rules keys out. */
  active: boolean;
}

/** A Bloom filter of a source's keys, rebuilt from a listing. */
export class SourceKeyFilter implements KeyFilter {
  readonly #rate: number;
  readonly #headroom: number;
  #filter: BloomFilter | undefined;
  /** Keys added while a rebuild lists the source: the new filter must hold them too. */
  #journal: string[] | undefined;
  #rebuilds = 0;

  /**
   * @param falsePositiveRate Share of absent keys the filter lets through to the source, above 0 and
   * below 1 (0.01: one in a hundred).
   * @param headroom Each rebuild sizes the filter for this many times the keys listed (at least 1), so
   * keys added until the next rebuild keep the rate; default 1.25.
   */
  constructor(falsePositiveRate: number, headroom = 1.25) {
    if (!(falsePositiveRate > 0 && falsePositiveRate < 1)) {
      throw new RangeError(`falsePositiveRate must be above 0 and below 1, got ${falsePositiveRate}`);
    }
    if (!(headroom >= 1)) throw new RangeError(`headroom must be at least 1, got ${headroom}`);
    this.#rate = falsePositiveRate;
    this.#headroom = headroom;
  }

  mightContain(key: string): boolean {
    return this.#filter === undefined || this.#filter.mightContain(key);
  }

  add(key: string): void {
    this.#filter?.add(key);
    this.#journal?.push(key);
  }

  /**
   * Builds a new filter from every key the source lists and swaps it in. On failure the current filter
   * stays (or, before the first success, none rules anything out).
   *
   * @param listKeys Lists the source's keys.
   * @throws The listing's error.
   */
  async rebuild(listKeys: () => AsyncIterable<string>): Promise<void> {
    if (this.#journal !== undefined) throw new Error("a rebuild is already running");
    const journal: string[] = [];
    this.#journal = journal;
    try {
      const keys: string[] = [];
      for await (const key of listKeys()) keys.push(key);
      const filter = BloomFilter.forKeys(Math.max(64, keys.length * this.#headroom), this.#rate);
      for (const key of keys) filter.add(key);
      // A key written after the listing passed it would otherwise be missing from the new filter.
      for (const key of journal) filter.add(key);
      this.#filter = filter;
      this.#rebuilds++;
    } finally {
      this.#journal = undefined;
    }
  }

  /** The filter's current figures. */
  stats(): KeyFilterStats {
    return {
      keys: this.#filter?.added ?? 0,
      bytes: this.#filter?.byteLength ?? 0,
      rebuilds: this.#rebuilds,
      active: this.#filter !== undefined,
    };
  }
}
