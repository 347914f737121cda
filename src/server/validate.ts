/**
 * Checks shared by the HTTP and gRPC front doors, so both reject the same inputs with the same words.
 * @module
 */

const encoder = new TextEncoder();

/** Returns why `key` is not a valid cache key, or undefined when it is. */
export function keyProblem(key: string, maxKeyBytes: number): string | undefined {
  if (key.length === 0) return "key must not be empty";
  // Only count UTF-8 bytes when the UTF-16 length leaves doubt.
  const bytes = key.length * 3 <= maxKeyBytes ? key.length : encoder.encode(key).byteLength;
  if (bytes > maxKeyBytes) return `key is ${bytes} bytes; the limit is ${maxKeyBytes}`;
  return undefined;
}

/** Compares two secrets in time that does not depend on where they differ. */
export function sameSecret(given: string, expected: string): boolean {
  if (expected.length === 0) return false;
  let diff = given.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) {
    diff |= expected.charCodeAt(i) ^ (i < given.length ? given.charCodeAt(i) : 0);
  }
  return diff === 0;
}

/** The message for a write refused for want of the right token. */
export function authProblem(token: string, expected: string): string | undefined {
  if (expected.length === 0) return "writes are disabled: this node has no peer token configured";
  if (token.length === 0) return "missing peer token: send Authorization: Bearer <token>";
  if (!sameSecret(token, expected)) return "wrong peer token";
  return undefined;
}
