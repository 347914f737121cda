/**
 * Times the two kinds of load a group makes, a getter call (the source) and a fetch from the key's owner
 * (a peer), by wrapping the getter and the picker the group is given, so the core stays free of clocks
 * and metrics. Cache hits never reach either, so they pay nothing.
 * @module
 */
import type { Getter } from "./cache/group.ts";
import type { PeerClient, PeerPicker } from "./cache/peers.ts";

/** Receives one load's duration in seconds. */
export type LoadObserver = (seconds: number) => void;

/**
 * Wraps a getter so each call's duration, failed ones included, is observed.
 *
 * @param getter The group's getter.
 * @param observe Receives each call's duration in seconds.
 * @returns A getter that behaves as `getter`.
 * @example
 * ```ts
 * import { timedGetter } from "./timed_loads.ts";
 *
 * const getter = timedGetter(async (key) => key, (s) => console.log(`loaded in ${s} s`));
 * await getter("k"); // "k", and one line logged
 * ```
 */
export function timedGetter(getter: Getter, observe: LoadObserver): Getter {
  return async (key) => {
    const started = performance.now();
    try {
      return await getter(key);
    } finally {
      observe((performance.now() - started) / 1000);
    }
  };
}

/**
 * Wraps a picker so the duration of each `get` from a key's owner is observed; sets, deletes and
 * membership pass straight through, and membership changes on `picker` still apply.
 *
 * @param picker The node's picker, such as its RingPicker.
 * @param observe Receives each peer get's duration in seconds.
 * @returns A picker naming the same owners.
 * @example
 * ```ts
 * import { NoPeers } from "./cache/peers.ts";
 * import { timedPicker } from "./timed_loads.ts";
 *
 * const picker = timedPicker(NoPeers, (s) => console.log(s));
 * picker.pickPeer("k"); // undefined: this node owns every key
 * ```
 */
export function timedPicker(picker: PeerPicker, observe: LoadObserver): PeerPicker {
  // One wrapper per client, made on first use, so picking an owner allocates nothing after that.
  const wrappers = new WeakMap<PeerClient, PeerClient>();
  const wrap = (peer: PeerClient): PeerClient => {
    let timed = wrappers.get(peer);
    if (timed === undefined) {
      timed = {
        id: peer.id,
        async get(group, key) {
          const started = performance.now();
          try {
            return await peer.get(group, key);
          } finally {
            observe((performance.now() - started) / 1000);
          }
        },
        getMany: peer.getMany && (async (group, keys) => {
          const started = performance.now();
          try {
            return await peer.getMany!(group, keys);
          } finally {
            observe((performance.now() - started) / 1000);
          }
        }),
        set: (group, key, value) => peer.set(group, key, value),
        delete: (group, key) => peer.delete(group, key),
      };
      wrappers.set(peer, timed);
    }
    return timed;
  };
  return {
    pickPeer(key) {
      const peer = picker.pickPeer(key);
      return peer === undefined ? undefined : wrap(peer);
    },
    peers: () => picker.peers(),
  };
}
