/**
 * The `page_token` of ListCnfMetrics: the last `cnf_id` of a page, base64url-encoded so clients treat it
 * as opaque and the encoding may change without breaking them.
 * @module
 */
import { CnfValidationError, validateCnfId } from "./cnf_metric.ts";

/** Page size when the request gives none (0). */
export const DEFAULT_PAGE_SIZE = 100;
/** Largest page; a bigger `page_size` is lowered to it, as Google's AIP-158 recommends. */
export const MAX_PAGE_SIZE = 1000;

/**
 * Encodes the token that continues after `lastId`.
 *
 * @param lastId The last `cnf_id` of the page just returned.
 * @returns The opaque token.
 * @example
 * ```ts
 * encodePageToken("CNF-100"); // "Q05GLTEwMA"
 * ```
 */
export function encodePageToken(lastId: string): string {
  return btoa(lastId).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * Decodes a token from a request.
 *
 * @param token The token, or `""` for the first page.
 * @returns The `cnf_id` to continue after; `""` for the first page.
 * @throws {CnfValidationError} With field `page_token` when it is not a token this service made.
 * @example
 * ```ts
 * decodePageToken(encodePageToken("CNF-100")); // "CNF-100"
 * ```
 */
export function decodePageToken(token: unknown): string {
  if (token === "") return "";
  const expected = "a next_page_token from a previous ListCnfMetrics response, or empty";
  if (typeof token !== "string" || !/^[A-Za-z0-9_-]{1,88}$/.test(token)) {
    throw new CnfValidationError("page_token", expected, token);
  }
  try {
    return validateCnfId(atob(token.replaceAll("-", "+").replaceAll("_", "/")));
  } catch {
    throw new CnfValidationError("page_token", expected, token);
  }
}

/**
 * Checks a requested page size and applies the default and the maximum.
 *
 * @param size `page_size` from the request; 0 when unset.
 * @returns The number of rows to return, 1 to {@linkcode MAX_PAGE_SIZE}.
 * @throws {CnfValidationError} With field `page_size` when it is negative or not an integer.
 */
export function pageSize(size: unknown): number {
  if (typeof size !== "number" || !Number.isInteger(size) || size < 0) {
    throw new CnfValidationError("page_size", `an integer from 0 (default ${DEFAULT_PAGE_SIZE}) up`, size);
  }
  return size === 0 ? DEFAULT_PAGE_SIZE : Math.min(size, MAX_PAGE_SIZE);
}
