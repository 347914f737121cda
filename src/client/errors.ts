/**
 * The one error type the client library throws, with a code a program can branch on.
 * @module
 */

/**
 * What went wrong: `invalid_argument` (the node refused the input: a bad key, a value too large),
 * `unauthenticated` (a write, or a read where reads need a token, without a token the node accepts),
 * `permission_denied` (the token lacks the scope), `unavailable` (no node answered in time, or every
 * node tried failed), `closed` (the client was closed).
 */
export type DistcacheErrorCode =
  | "invalid_argument"
  | "unauthenticated"
  | "permission_denied"
  | "unavailable"
  | "closed";

/** An error of the client library; `code` says what kind, the message says what and where. */
export class DistcacheError extends Error {
  override name = "DistcacheError";
  /** The kind of failure. */
  readonly code: DistcacheErrorCode;
  /** The HTTP status a node answered, or 0 when none answered. */
  readonly status: number;

  /**
   * @param code The kind of failure.
   * @param message What failed, naming the node and the key; never a token.
   * @param status The HTTP status a node answered, 0 for none.
   */
  constructor(code: DistcacheErrorCode, message: string, status = 0) {
    super(message);
    this.code = code;
    this.status = status;
  }

  /** Whether another node may succeed where this call failed (the node, not the input, was at fault). */
  get retryable(): boolean {
    return this.code === "unavailable";
  }
}

/**
 * The error for a node's non-success HTTP answer.
 *
 * @param status The HTTP status.
 * @param what The call and node, for the message.
 * @param body The node's answer text.
 * @returns An error whose code follows from the status.
 */
export function statusError(status: number, what: string, body: string): DistcacheError {
  const code = status === 401
    ? "unauthenticated"
    : status === 403
    ? "permission_denied"
    : status >= 400 && status < 500 && status !== 408 && status !== 429
    ? "invalid_argument"
    : "unavailable";
  return new DistcacheError(code, `${what} answered ${status}: ${body.trim().slice(0, 300)}`, status);
}
