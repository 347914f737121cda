/**
 * Immutable cached bytes: a value either owns a private copy of its bytes or borrows them from the
 * store that holds the entry, without copying, for as long as that entry stays unchanged.
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Where a borrowed view's bytes live: a store that may move an entry's bytes (its offset is looked up at
 * each use) and reuses them once the entry is gone, which changes the slot's generation.
 */
export interface ByteSource {
  /** The bytes of the entry in `slot` while its generation is still `generation`, else undefined. */
  bytesOf(slot: number, generation: number): Uint8Array<ArrayBuffer> | undefined;
}

/**
 * An immutable byte value with an optional absolute expiry.
 *
 * A view a cache hit returns borrows the cache's bytes: reading it costs no copy, and it stays readable
 * until its entry is replaced, evicted or deleted. After that, reading it throws rather than return
 * other bytes; {@linkcode ByteView.detach} makes a copy that lives on, for code that keeps a value
 * across an `await`.
 */
export class ByteView {
  /** The bytes, when this view owns them. */
  readonly #bytes: Uint8Array<ArrayBuffer> | undefined;
  readonly #source: ByteSource | undefined;
  readonly #slot: number;
  readonly #generation: number;
  readonly #length: number;
  /** Expiry as Unix epoch milliseconds; 0 means the value never expires. */
  readonly expiresAt: number;

  private constructor(
    bytes: Uint8Array<ArrayBuffer> | undefined,
    source: ByteSource | undefined,
    slot: number,
    generation: number,
    length: number,
    expiresAt: number,
  ) {
    this.#bytes = bytes;
    this.#source = source;
    this.#slot = slot;
    this.#generation = generation;
    this.#length = length;
    this.expiresAt = expiresAt;
  }

  /**
   * Makes a view holding a private copy of `data` (strings are UTF-8 encoded).
   *
   * @param data The bytes or text to hold.
   * @param expiresAt Absolute expiry in Unix epoch milliseconds, 0 for none.
   * @returns The new view.
   * @example
   * ```ts
   * const src = new Uint8Array([1, 2, 3]);
   * const view = ByteView.of(src);
   * src[0] = 9;
   * view.toBytes()[0]; // 1
   * ```
   */
  static of(data: Uint8Array | string, expiresAt = 0): ByteView {
    const bytes = typeof data === "string" ? encoder.encode(data) : data.slice();
    return new ByteView(bytes, undefined, 0, 0, bytes.byteLength, expiresAt);
  }

  /**
   * Makes a view that takes `bytes` as they are, without a copy: the caller hands them over and must not
   * change them afterwards (as a server does with a request body it has read).
   *
   * @param bytes The bytes, which now belong to the view.
   * @param expiresAt Absolute expiry in Unix epoch milliseconds, 0 for none.
   * @returns The new view.
   * @example
   * ```ts
   * const view = ByteView.adopt(new Uint8Array([1, 2, 3]));
   * view.byteLength; // 3
   * ```
   */
  static adopt(bytes: Uint8Array, expiresAt = 0): ByteView {
    return new ByteView(bytes as Uint8Array<ArrayBuffer>, undefined, 0, 0, bytes.byteLength, expiresAt);
  }

  /**
   * Makes a view of bytes a store holds for the entry in `slot`, readable while its generation stays.
   *
   * @param source The store.
   * @param slot The entry's slot.
   * @param generation The slot's generation now.
   * @param length The value's byte length.
   * @param expiresAt Absolute expiry in Unix epoch milliseconds, 0 for none.
   * @returns The borrowed view.
   */
  static borrow(
    source: ByteSource,
    slot: number,
    generation: number,
    length: number,
    expiresAt: number,
  ): ByteView {
    return new ByteView(undefined, source, slot, generation, length, expiresAt);
  }

  /** The number of bytes held. */
  get byteLength(): number {
    return this.#length;
  }

  /** Whether the bytes are borrowed from a store (and readable only while its entry stays). */
  get borrowed(): boolean {
    return this.#bytes === undefined;
  }

  /** Returns the same bytes with another expiry, without copying them. */
  withExpiry(expiresAt: number): ByteView {
    if (expiresAt === this.expiresAt) return this;
    return new ByteView(this.#bytes, this.#source, this.#slot, this.#generation, this.#length, expiresAt);
  }

  /**
   * Returns a view that owns its bytes: this one when it does already, else a copy of the borrowed
   * bytes, which stays readable after the entry it came from is gone.
   *
   * @throws {Error} When the borrowed entry is already gone.
   */
  detach(): ByteView {
    if (this.#bytes !== undefined) return this;
    const bytes = this.#view().slice();
    return new ByteView(bytes, undefined, 0, 0, this.#length, this.expiresAt);
  }

  /** Whether the value has expired at `now` (epoch milliseconds). */
  isExpired(now: number): boolean {
    return this.expiresAt !== 0 && this.expiresAt <= now;
  }

  /** Returns a fresh copy of the bytes, which the caller may change. */
  toBytes(): Uint8Array<ArrayBuffer> {
    return this.#view().slice();
  }

  /**
   * Lends the bytes themselves to `use`, without copying, for a consumer that copies them before it
   * returns (as `new Response(bytes)` does). `use` must neither change the bytes nor keep a reference:
   * a borrowed view's bytes are reused by its store once the entry is gone.
   *
   * @param use Receives the bytes; its result is returned.
   * @returns What `use` returned.
   * @throws {Error} When the view is borrowed and its entry is already gone.
   * @example
   * ```ts
   * const view = ByteView.of("hello");
   * const res = view.withBytes((bytes) => new Response(bytes));
   * ```
   */
  withBytes<T>(use: (bytes: Uint8Array<ArrayBuffer>) => T): T {
    return use(this.#view());
  }

  /** Decodes the bytes as UTF-8. */
  toString(): string {
    return decoder.decode(this.#view());
  }

  /** Whether `other` holds the same bytes (expiry is not compared). */
  equals(other: ByteView | Uint8Array): boolean {
    const b = other instanceof ByteView ? other.#view() : other;
    const a = this.#view();
    if (a.byteLength !== b.byteLength) return false;
    for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  /** The bytes: owned, or looked up in the store, which may have moved them since the view was made. */
  #view(): Uint8Array<ArrayBuffer> {
    if (this.#bytes !== undefined) return this.#bytes;
    const bytes = this.#source!.bytesOf(this.#slot, this.#generation);
    if (bytes === undefined) {
      throw new Error(
        "a borrowed cache value was read after its entry was replaced, evicted or deleted; " +
          "call detach() on a value kept across an await",
      );
    }
    return bytes;
  }
}
