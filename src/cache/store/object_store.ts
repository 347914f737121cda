/**
 * A store of JavaScript values: one `Map` from key to slot and two arrays by slot. Values of any type,
 * sized by a function the caller gives; the default store of a slot cache.
 * @module
 */
import type { SlotStore } from "./slot_store.ts";
import { keyBytes } from "../_key_bytes.ts";

/**
 * Keys and values of any type by slot. An entry costs its key's UTF-8 length plus `sizeOf(value)`: the
 * objects themselves live on the JavaScript heap and are not counted.
 *
 * @example
 * ```ts
 * import { ObjectStore } from "./object_store.ts";
 * const store = new ObjectStore<string>((v) => v.length);
 * store.resize(4);
 * store.insert(1, "k", "value", 0);
 * store.find("k"); // 1
 * store.cost("k", "value", 0); // 6
 * ```
 */
export class ObjectStore<V> implements SlotStore<V> {
  readonly #index = new Map<string, number>();
  #keys: (string | undefined)[] = [undefined];
  #values: (V | undefined)[] = [undefined];
  /** Per slot, what the entry cost when stored: `sizeOf` may not answer the same twice. */
  #costs: number[] = [0];
  /** The cost `cost` last worked out, for the `insert` or `replace` that follows it. */
  #lastCost = 0;
  readonly #sizeOf: (value: V) => number;
  /** 0: a value may be sized 0 under an empty key, so the byte bound does not bound the slots. */
  readonly leastCost = 0;
  /** 0: an entry's memory goes with it, to the garbage collector. */
  readonly garbageBytes = 0;

  /**
   * Makes an empty store.
   *
   * @param sizeOf The byte size of a value.
   */
  constructor(sizeOf: (value: V) => number) {
    this.#sizeOf = sizeOf;
  }

  /** Entries held. */
  get size(): number {
    return this.#index.size;
  }

  /** Nothing to free: the garbage collector does it. */
  reclaim(): boolean {
    return false;
  }

  /** The slot holding `key`, or 0. */
  find(key: string): number {
    return this.#index.get(key) ?? 0;
  }

  /** The key's UTF-8 length plus `sizeOf(value)`. */
  cost(key: string, value: V, _expiresAt: number): number {
    return (this.#lastCost = keyBytes(key) + this.#sizeOf(value));
  }

  /** What the entry in `slot` cost when it was stored. */
  costOf(slot: number): number {
    return this.#costs[slot];
  }

  /** Stores a new entry in `slot`. */
  insert(slot: number, key: string, value: V, _expiresAt: number): void {
    this.#index.set(key, slot);
    this.#keys[slot] = key;
    this.#values[slot] = value;
    this.#costs[slot] = this.#lastCost;
  }

  /** Replaces the value in `slot`. */
  replace(slot: number, value: V, _expiresAt: number): void {
    this.#values[slot] = value;
    this.#costs[slot] = this.#lastCost;
  }

  /** Forgets the entry in `slot`, dropping the references so the collector can reclaim them. */
  remove(slot: number): void {
    this.#index.delete(this.#keys[slot]!);
    this.#keys[slot] = undefined;
    this.#values[slot] = undefined;
  }

  /** The key in `slot`. */
  key(slot: number): string {
    return this.#keys[slot]!;
  }

  /** The value in `slot`. */
  value(slot: number, _expiresAt: number): V {
    return this.#values[slot]!;
  }

  /** The value in `slot`, which outlives the entry as it is. */
  take(slot: number, _expiresAt: number): V {
    return this.#values[slot]!;
  }

  /** Arrays grow on their own. */
  resize(_slots: number): void {}

  /** Forgets every entry. */
  clear(_slots: number): void {
    this.#index.clear();
    this.#keys = [undefined];
    this.#values = [undefined];
    this.#costs = [0];
  }
}
