/**
 * Keeps secrets out of messages: a database URL is shown with its password replaced.
 * @module
 */

/**
 * Replaces the password of a URL with `***`. Everything from the first `:` after the scheme's `//` to the
 * last `@` is replaced, so a password holding an unencoded `/` or `@` is hidden whole too.
 *
 * @param url A URL such as `mysql://user:pass@host:3306/db`.
 * @returns The URL without its password; unchanged when it has none.
 * @example
 * ```ts
 * redactUrl("mysql://app:s3cret@db:3306/metrics"); // "mysql://app:***@db:3306/metrics"
 * ```
 */
export function redactUrl(url: string): string {
  const start = url.indexOf("://");
  if (start === -1) return url;
  const at = url.lastIndexOf("@");
  const colon = url.indexOf(":", start + 3);
  if (at < start || colon === -1 || colon > at) return url;
  return `${url.slice(0, colon + 1)}***${url.slice(at)}`;
}
