/**
 * Defines how a group finds the peer that owns a key and talks to it. Transports (HTTP, gRPC) and
 * membership implement these interfaces outside the core.
 * @module
 */
import type { ByteView } from "./byte_view.ts";

/** A remote node holding part of the key space. */
export interface PeerClient {
  /** The peer's address, for logs and metrics. */
  readonly id: string;
  /**
   * Fetches `key` of `group` from the peer, marked as forwarded so the peer never forwards it again.
   * Resolves to null when the peer's source has no such key; rejects when the peer cannot answer.
   */
  get(group: string, key: string): Promise<ByteView | null>;
  /**
   * Fetches many keys of `group` in one call, marked as forwarded. Resolves to one answer per key in the
   * order asked: the value, null for no such key, or the Error the peer gave for that key; rejects when
   * the call itself fails. Optional: without it a batch asks the peer key by key.
   */
  getMany?(group: string, keys: readonly string[]): Promise<(ByteView | null | Error)[]>;
  /** Stores a value on the peer (forwarded: the peer stores it locally). */
  set(group: string, key: string, value: ByteView): Promise<void>;
  /** Removes a key on the peer (forwarded: the peer removes it locally). */
  delete(group: string, key: string): Promise<void>;
}

/**
 * A peer's answer that refuses the request itself (too large, malformed): the peer is up, so the key is not
 * loaded elsewhere instead, and the caller sees the refusal.
 */
export class PeerRefusal extends Error {
  override name = "PeerRefusal";
}

/** Names the owner of a key. */
export interface PeerPicker {
  /** The peer that owns `key`, or undefined when this node owns it. */
  pickPeer(key: string): PeerClient | undefined;
  /** Every peer other than this node. */
  peers(): PeerClient[];
}

/** A picker for a node alone: it owns every key. */
export const NoPeers: PeerPicker = {
  pickPeer: () => undefined,
  peers: () => [],
};
