/**
 * Who may do what on a node. Peers prove themselves with a peer token; clients with a client token that
 * carries a name and scopes (read, write). Each list may hold several tokens at once, so a token is
 * rotated by adding the new one everywhere, switching senders, then removing the old one. Tokens from
 * files are re-read by {@linkcode Credentials.reload}; a failed reload keeps the tokens in force.
 * @module
 */
import { type ClientConfig, type Config, ConfigError, type Scope, type SourcedToken } from "../config.ts";
import { bearerToken } from "./bearer.ts";
import { checkToken, readTokenFile } from "./token_file.ts";

/** The client name of a request that presented a peer token. */
export const PEER_CLIENT = "peer";

/** The token shipped in config/config.yml for loopback development; refused anywhere else. */
export const DEV_TOKEN = "distcache-dev-token";

/** Every reason a request may be refused for: the `reason` label of `distcache_auth_failures_total`. */
export const AUTH_REASONS = ["missing", "malformed", "wrong", "scope", "disabled"] as const;

/** Why a request was refused. */
export type AuthReason = typeof AUTH_REASONS[number];

/** A refused request: why, and the message for the caller (it never contains a token). */
export interface Refusal {
  readonly reason: AuthReason;
  readonly message: string;
  /** The client whose token lacked the scope (reason "scope" only). */
  readonly client?: string;
}

interface Entry {
  readonly client: string;
  readonly token: string;
  readonly read: boolean;
  readonly write: boolean;
}

/** The tokens in force: the entries checked against, and the peer token sent. */
interface TokenSet {
  readonly entries: readonly Entry[];
  readonly send: string;
  readonly peers: number;
  readonly clients: number;
}

/** Where a node's tokens come from. */
export interface AuthConfig {
  /** Peer tokens in order; the first is the one sent (before `peerTokenFile`'s). */
  peerTokens: SourcedToken[];
  /** A file of more peer tokens ("" for none). */
  peerTokenFile: string;
  clients: ClientConfig[];
  readsRequireToken: boolean;
}

/** The token settings of a node's configuration. */
export function authConfig(config: Config): AuthConfig {
  const first = config.peers.token === ""
    ? []
    : [{ token: config.peers.token, field: config.peers.tokenField }];
  return {
    peerTokens: [...first, ...config.peers.tokens],
    peerTokenFile: config.peers.tokenFile,
    clients: config.auth.clients,
    readsRequireToken: config.auth.readsRequireToken,
  };
}

/** Where the node listens, to refuse the development token off loopback. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) ||
    /^(0{0,4}:){7}0{0,3}1$/.test(h);
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

/** A node's tokens and the check every guarded request goes through. */
export class Credentials {
  readonly #config: AuthConfig;
  readonly #host: string;
  #set: TokenSet;
  #reloading: Promise<boolean> | undefined;

  private constructor(config: AuthConfig, host: string, set: TokenSet) {
    this.#config = config;
    this.#host = host;
    this.#set = set;
  }

  /**
   * Reads the token files and checks every token.
   *
   * @param config The `peers` tokens and the `auth` section.
   * @param host The address the node listens on; off loopback the development token is refused.
   * @returns The credentials.
   * @throws {ConfigError} Naming the field of an unreadable file, a malformed token or the development
   * token on a non-loopback host.
   */
  static async load(config: AuthConfig, host: string): Promise<Credentials> {
    return new Credentials(config, host, await build(config, host));
  }

  /** Whether reads (GET, gRPC Get, ShowCnfMetric, ListCnfMetrics) need a token with the read scope. */
  get readsRequireToken(): boolean {
    return this.#config.readsRequireToken;
  }

  /** The peer token this node sends to its peers: the first of the peer tokens ("" when none). */
  get sendToken(): string {
    return this.#set.send;
  }

  /** How many peer and client tokens are in force. */
  counts(): { peer: number; client: number } {
    return { peer: this.#set.peers, client: this.#set.clients };
  }

  /** The client names that may appear in logs and metrics: the configured ones and "peer". */
  clientNames(): string[] {
    return [PEER_CLIENT, ...this.#config.clients.map((c) => c.name)];
  }

  /**
   * Checks a request's `authorization` value for `scope`. Every token in force is compared, in constant
   * time each, so the answer takes as long whichever token (if any) matched.
   *
   * @param value The `authorization` header or metadata value (undefined when absent).
   * @param scope What the request does.
   * @returns The client's name ("peer" for a peer token), or the refusal.
   */
  authorize(value: string | undefined, scope: Scope): string | Refusal {
    const { entries } = this.#set;
    if (entries.length === 0) {
      return {
        reason: "disabled",
        message: `${scope}s are disabled: this node has no token configured (peers.token or auth.clients)`,
      };
    }
    const token = bearerToken(value);
    if (token === null) {
      return { reason: "malformed", message: `malformed authorization: expected "Bearer <token>"` };
    }
    if (token === "") {
      return { reason: "missing", message: `missing token: send authorization: Bearer <token>` };
    }
    let found: Entry | undefined;
    for (const e of entries) if (sameSecret(token, e.token) && found === undefined) found = e;
    if (found === undefined) return { reason: "wrong", message: "wrong token" };
    if (scope === "write" ? !found.write : !found.read) {
      return {
        reason: "scope",
        message: `client "${found.client}" has no ${scope} scope`,
        client: found.client,
      };
    }
    return found.client;
  }

  /**
   * Reads the token files again. On success the new tokens are in force at once; on failure (a file
   * missing, empty or malformed) the previous ones stay, so a half-written secret never locks anyone out.
   *
   * @returns Whether the tokens changed.
   * @throws {ConfigError} Naming the file or field, when the reload failed.
   */
  reload(): Promise<boolean> {
    // Reloads run one at a time, so a slow one cannot overwrite a newer one.
    const run = async () => {
      const next = await build(this.#config, this.#host);
      const changed = !sameSet(next, this.#set);
      this.#set = next;
      return changed;
    };
    const p = (this.#reloading ?? Promise.resolve(false)).catch(() => false).then(run);
    this.#reloading = p;
    return p;
  }

  /** Whether any token comes from a file (only then is there anything to reload). */
  get hasFiles(): boolean {
    return this.#config.peerTokenFile !== "" || this.#config.clients.some((c) => c.tokenFile !== "");
  }
}

function sameSet(a: TokenSet, b: TokenSet): boolean {
  return a.send === b.send && a.entries.length === b.entries.length &&
    a.entries.every((e, i) => {
      const f = b.entries[i];
      return e.token === f.token && e.client === f.client && e.read === f.read && e.write === f.write;
    });
}

async function build(config: AuthConfig, host: string): Promise<TokenSet> {
  const loopback = isLoopback(host);
  const entries: Entry[] = [];
  const owner = new Map<string, string>();
  const add = (client: string, scopes: readonly Scope[], tokens: SourcedToken[]) => {
    for (const { token, field: where } of tokens) {
      checkToken(token, where);
      if (!loopback && token === DEV_TOKEN) {
        throw new ConfigError(
          `${where} is the development token from config/config.yml, which a node on the non-loopback ` +
            `host ${host} refuses: set a secret token (DISTCACHE_PEER_TOKEN, --peer-token or peers.token_file)`,
        );
      }
      const other = owner.get(token);
      if (other !== undefined && other !== client) {
        throw new ConfigError(`${where}: the same token is also given to ${other}; each needs its own`);
      }
      if (other !== undefined) continue;
      owner.set(token, client);
      entries.push({ client, token, read: scopes.includes("read"), write: scopes.includes("write") });
    }
  };
  const peerTokens = [...config.peerTokens, ...await fileTokens(config.peerTokenFile, "peers.token_file")];
  add(PEER_CLIENT, ["read", "write"], peerTokens);
  const peers = entries.length;
  for (const [i, c] of config.clients.entries()) {
    add(c.name, c.scopes, [...c.tokens, ...await fileTokens(c.tokenFile, `auth.clients[${i}].token_file`)]);
  }
  return { entries, send: peerTokens[0]?.token ?? "", peers, clients: entries.length - peers };
}

async function fileTokens(path: string, field: string): Promise<SourcedToken[]> {
  if (path === "") return [];
  const tokens = await readTokenFile(path, field);
  return tokens.map((token, i) => ({ token, field: `${field} (${path}) token ${i + 1}` }));
}
