/**
 * Token files, as secrets are mounted: one token per line, the first line being the one a node sends.
 * Blank lines and lines starting with `#` are skipped, and surrounding whitespace is dropped, so an
 * editor's trailing newline or a comment explaining a rotation changes nothing.
 * @module
 */
import { ConfigError } from "../config.ts";

/** Printable ASCII without spaces: what fits in `authorization: Bearer <token>` unchanged. */
const TOKEN = /^[\x21-\x7e]+$/;

/**
 * Checks one token; the message names the field and never the token.
 *
 * @param token The token.
 * @param field Where it came from, e.g. "peers.tokens[1]".
 * @returns The token.
 * @throws {ConfigError} When it is empty or holds spaces, control or non-ASCII characters.
 */
export function checkToken(token: string, field: string): string {
  if (!TOKEN.test(token)) {
    throw new ConfigError(`${field} must be printable ASCII without spaces (the value is not shown)`);
  }
  return token;
}

/**
 * Parses the text of a token file.
 *
 * @param text The file's contents.
 * @param field The configuration field naming the file, for error messages.
 * @returns The tokens, in file order.
 * @throws {ConfigError} When the file holds no token or a malformed one (named by line, not shown).
 */
export function parseTokenFile(text: string, field: string): string[] {
  const tokens: string[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "" || line.startsWith("#")) continue;
    tokens.push(checkToken(line, `${field} line ${i + 1}`));
  }
  if (tokens.length === 0) throw new ConfigError(`${field} holds no token`);
  return tokens;
}

/**
 * Reads and parses a token file.
 *
 * @param path The file.
 * @param field The configuration field naming it.
 * @returns The tokens, in file order.
 * @throws {ConfigError} When the file cannot be read or holds no valid token.
 */
export async function readTokenFile(path: string, field: string): Promise<string[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new ConfigError(`${field}: cannot read ${path}: ${(e as Error).message}`);
  }
  return parseTokenFile(text, `${field} (${path})`);
}
