/**
 * The credential on the wire: one header (HTTP) or metadata key (gRPC), `authorization: Bearer <token>`,
 * named here once so the servers, the peer clients and the tests agree on it.
 * @module
 */

/** The HTTP header and gRPC metadata key that carries a credential (lower case, as gRPC requires). */
export const AUTHORIZATION = "authorization";

/** The value a peer or client sends: `Bearer <token>`. */
export function bearer(token: string): string {
  return `Bearer ${token}`;
}

/**
 * Reads the token out of an `authorization` value. The scheme is matched without regard to case
 * (RFC 9110 §11.1), so `bearer x` and `BEARER x` carry the token `x`.
 *
 * @param value The header or metadata value; undefined or "" when the request sent none.
 * @returns The token; "" when nothing (or only the scheme) was sent; null when the value is not a
 * Bearer credential at all.
 */
export function bearerToken(value: string | undefined): string | null {
  if (value === undefined) return "";
  const v = value.trim();
  if (v === "") return "";
  const space = v.indexOf(" ");
  const scheme = space === -1 ? v : v.slice(0, space);
  if (scheme.toLowerCase() !== "bearer") return null;
  return space === -1 ? "" : v.slice(space + 1).trim();
}
