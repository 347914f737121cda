/**
 * Checks shared by the HTTP and gRPC front doors, so both reject the same inputs with the same words.
 * @module
 */

const encoder = new TextEncoder();

/**
 * A key or name as an error message shows it: JSON-quoted, so a newline or NUL in it cannot split the
 * message into lines or end it early.
 */
export function quote(s: string): string {
  return JSON.stringify(s);
}

/** Returns why `key` is not a valid cache key, or undefined when it is. */
export function keyProblem(key: string, maxKeyBytes: number): string | undefined {
  if (key.length === 0) return "key must not be empty";
  // Only count UTF-8 bytes when the UTF-16 length leaves doubt.
  const bytes = key.length * 3 <= maxKeyBytes ? key.length : encoder.encode(key).byteLength;
  if (bytes > maxKeyBytes) return `key is ${bytes} bytes; the limit is ${maxKeyBytes}`;
  return undefined;
}
