/**
 * Immutable cached bytes: a value copies its input in and hands out copies, so no caller can change a
 * value once it is cached.
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An immutable byte value with an optional absolute expiry. */
export class ByteView {
  readonly #bytes: Uint8Array;
  /** Expiry as Unix epoch milliseconds; 0 means the value never expires. */
  readonly expiresAt: number;

  private constructor(bytes: Uint8Array, expiresAt: number) {
    this.#bytes = bytes;
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
    return new ByteView(bytes, expiresAt);
  }

  /** The number of bytes held. */
  get byteLength(): number {
    return this.#bytes.byteLength;
  }

  /** Returns the same bytes with another expiry, without copying them. */
  withExpiry(expiresAt: number): ByteView {
    return expiresAt === this.expiresAt ? this : new ByteView(this.#bytes, expiresAt);
  }

  /** Whether the value has expired at `now` (epoch milliseconds). */
  isExpired(now: number): boolean {
    return this.expiresAt !== 0 && this.expiresAt <= now;
  }

  /** Returns a fresh copy of the bytes, which the caller may change. */
  toBytes(): Uint8Array<ArrayBuffer> {
    return this.#bytes.slice();
  }

  /**
   * Lends the bytes themselves to `use`, without copying, for a consumer that copies them before it
   * returns (as `new Response(bytes)` does). `use` must neither change the bytes nor keep a reference.
   *
   * @param use Receives the bytes; its result is returned.
   * @returns What `use` returned.
   * @example
   * ```ts
   * const view = ByteView.of("hello");
   * const res = view.withBytes((bytes) => new Response(bytes));
   * ```
   */
  withBytes<T>(use: (bytes: Uint8Array<ArrayBuffer>) => T): T {
    return use(this.#bytes as Uint8Array<ArrayBuffer>);
  }

  /** Decodes the bytes as UTF-8. */
  toString(): string {
    return decoder.decode(this.#bytes);
  }

  /** Whether `other` holds the same bytes (expiry is not compared). */
  equals(other: ByteView | Uint8Array): boolean {
    const b = other instanceof ByteView ? other.#bytes : other;
    const a = this.#bytes;
    if (a.byteLength !== b.byteLength) return false;
    for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
    return true;
  }
}
