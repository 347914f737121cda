/**
 * Frees the buffers of finished requests sooner. A request body lives outside the JavaScript heap, and
 * V8 collects such buffers only when its heap fills or their total grows by tens of MiB, so under writes
 * of large values finished bodies piled up: 100 to 250 MiB above the cache's own memory in
 * `deno task bench memory` with 64 KiB values. Collecting the young generation after every 16 MiB of
 * bodies taken in frees them; it costs well under a millisecond each time. It needs the runtime's `gc`,
 * which `deno task start` exposes (`--v8-flags=--expose-gc`); without it this does nothing.
 * @module
 */

/** Bytes of bodies between collections: small against any cache, large against one request. */
const COLLECT_EVERY = 16 * 1024 * 1024;

const gc = (globalThis as { gc?: (options: { type: "minor" }) => void }).gc;
let taken = 0;

/**
 * Counts the bytes of a request body the node has read (and copied where it keeps it), collecting the
 * young generation once 16 MiB have been taken in since the last time.
 *
 * @param bytes The body's length.
 * @example
 * ```ts
 * import { bodyTaken } from "./garbage.ts";
 * bodyTaken(65536);
 * ```
 */
export function bodyTaken(bytes: number): void {
  if (gc === undefined || (taken += bytes) < COLLECT_EVERY) return;
  taken = 0;
  gc({ type: "minor" });
}
