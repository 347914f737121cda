/**
 * The {@linkcode PeerPicker} of a node: a consistent-hash ring over the members' HTTP URLs, with one
 * reused client per peer. Membership (static or etcd) replaces the member set as it changes.
 * @module
 */
import { ConsistentHash } from "../cache/consistent_hash.ts";
import type { PeerClient, PeerPicker } from "../cache/peers.ts";
import type { PeerAddress } from "../config.ts";
import { PeerBreaker } from "./breaker.ts";
import { GrpcPeerClient } from "./grpc_client.ts";
import { HttpPeerClient } from "./http_client.ts";
import type { PeerOptions } from "./peer_options.ts";

/** A peer client the picker can close when the peer leaves. */
type ClosablePeer = PeerClient & { close(): void };

/** Routes each key to its owner on the ring. */
export class RingPicker implements PeerPicker {
  readonly #self: string;
  readonly #ring: ConsistentHash;
  readonly #clients = new Map<string, ClosablePeer>();
  readonly #make: (peer: PeerAddress) => ClosablePeer;

  /**
   * @param self This node's HTTP base URL, as the other members name it.
   * @param protocol How to reach peers: "http" or "grpc".
   * @param options Token, deadline and metrics for the peer clients.
   * @param vnodes Virtual nodes per member.
   */
  constructor(self: string, protocol: "http" | "grpc", options: PeerOptions, vnodes?: number) {
    this.#self = self;
    this.#ring = new ConsistentHash({ replicas: vnodes });
    this.#ring.add(self);
    const client = protocol === "grpc"
      ? (p: PeerAddress) => new GrpcPeerClient(p.http, p.grpc, options)
      : (p: PeerAddress) => new HttpPeerClient(p.http, options);
    this.#make = (p) => new PeerBreaker(client(p), options.breaker);
  }

  /** Replaces the other members (this node stays on the ring). */
  setPeers(peers: PeerAddress[]): void {
    const wanted = new Map(peers.filter((p) => p.http !== this.#self).map((p) => [p.http, p]));
    for (const [id, client] of this.#clients) {
      if (!wanted.has(id)) {
        client.close();
        this.#clients.delete(id);
      }
    }
    for (const [id, p] of wanted) if (!this.#clients.has(id)) this.#clients.set(id, this.#make(p));
    this.#ring.set([this.#self, ...wanted.keys()]);
  }

  /** The owner of `key`, or undefined when it is this node. */
  pickPeer(key: string): PeerClient | undefined {
    const owner = this.#ring.get(key);
    return owner === this.#self ? undefined : this.#clients.get(owner!);
  }

  /** Every member's id (HTTP base URL), this node included, in ascending order. */
  members(): string[] {
    return this.#ring.nodes();
  }

  /** The id of the member owning `key`, this node's included; for the status page's lookup. */
  owner(key: string): string {
    return this.#ring.get(key)!;
  }

  /** Every other member. */
  peers(): PeerClient[] {
    return [...this.#clients.values()];
  }

  /** Closes every client. */
  close(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }
}
