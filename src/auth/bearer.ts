/**
 * The credential's value on the wire, `Bearer <token>`, in the header or metadata key named
 * {@linkcode AUTHORIZATION} (re-exported from the protocol module for the callers that send it).
 * @module
 */
export { AUTHORIZATION } from "../protocol.ts";

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
