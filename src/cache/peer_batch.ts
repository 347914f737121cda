/**
 * Gathers the keys of one batch read that one peer owns, so the peer is asked once for all of them.
 * @module
 */
import type { ByteView } from "./byte_view.ts";
import type { PeerClient } from "./peers.ts";

/** One value, "no such key" (null) or the error the owner gave for that key. */
export type PeerKeyAnswer = ByteView | null | Error;

/**
 * The keys a batch asks one owner for, and the one call that asks. Each key's promise settles from that
 * call's answer: its value, or a rejection when the call or that key failed.
 *
 * @example
 * ```ts
 * import { PeerBatch } from "./peer_batch.ts";
 * import { ByteView } from "./byte_view.ts";
 *
 * const peer = {
 *   id: "p",
 *   get: async (_g: string, k: string) => ByteView.of(k),
 *   set: async () => {},
 *   delete: async () => {},
 * };
 * const batch = new PeerBatch();
 * const a = batch.add("a");
 * batch.send(peer, "g"); // a peer without getMany is asked key by key
 * (await a)?.toString(); // "a"
 * ```
 */
export class PeerBatch {
  readonly #keys: string[] = [];
  readonly #answers = Promise.withResolvers<PeerKeyAnswer[]>();

  /**
   * Adds a key to the batch.
   *
   * @param key The key; add each key once.
   * @returns The key's value once the batch is answered; rejects when the call or the key failed.
   */
  add(key: string): Promise<ByteView | null> {
    const at = this.#keys.push(key) - 1;
    return this.#answers.promise.then((answers) => {
      const answer = answers[at];
      if (answer instanceof Error) throw answer;
      if (answer === undefined) {
        throw new Error(`the owner's answer has no entry for key ${JSON.stringify(key)}`);
      }
      return answer;
    });
  }

  /**
   * Asks `peer` for every key added, in one call when the peer supports batches.
   *
   * @param peer The keys' owner.
   * @param group The group's name.
   */
  send(peer: PeerClient, group: string): void {
    const keys = this.#keys;
    const call = peer.getMany
      ? peer.getMany(group, keys)
      : Promise.all(keys.map((key) => peer.get(group, key).catch((e: unknown) => toError(e))));
    call.then(this.#answers.resolve, this.#answers.reject);
  }
}

function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
