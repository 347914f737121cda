/**
 * A consistent-hash ring that names the node owning a key, moving few keys when nodes join or leave.
 * @module
 */
import { murmur3 } from "./_hash.ts";

/** Options of a {@linkcode ConsistentHash}. */
export interface ConsistentHashOptions {
  /**
   * Points each node places on the ring; more points balance load more evenly at the cost of memory and
   * slower membership changes. Must be a positive integer; defaults to {@linkcode DEFAULT_REPLICAS}.
   */
  replicas?: number;
  /**
   * Maps text to an unsigned 32-bit integer; defaults to MurmurHash3 of the UTF-8 bytes. Every process
   * must use the same function, or they disagree about owners.
   */
  hash?: (text: string) => number;
}

/**
 * Points per node by default. A node's share of keys varies by about 1/sqrt(points): with 10 nodes,
 * 1024 points give the busiest node 1.05x the mean share, 160 points 1.16x, and groupcache's 50 crc32
 * points 1.25x (`deno task bench ring`). The cost is about 16 bytes per point and a rebuild on membership change.
 */
export const DEFAULT_REPLICAS = 1024;

// Ring points are sorted as `point * RANK_SPAN + rank`, exact in a float64, so that two nodes hashing to
// the same point are ordered by name whatever order they were added in.
const RANK_SPAN = 2 ** 20;

/**
 * A ring of virtual nodes: each node owns the keys hashing between its points and the previous ones.
 * Every process with the same nodes and options names the same owner for a key.
 *
 * @example
 * ```ts
 * import { ConsistentHash } from "./consistent_hash.ts";
 *
 * const ring = new ConsistentHash();
 * ring.add("10.0.0.1:9999", "10.0.0.2:9999", "10.0.0.3:9999");
 * const owner = ring.get("CNF-001"); // one of the three, the same on every node
 * ring.remove("10.0.0.2:9999"); // only that node's keys move
 * ```
 */
export class ConsistentHash {
  /** Points each node places on the ring. */
  readonly replicas: number;
  readonly #hash: (text: string) => number;
  /** Each node's points, hashed once when it joins. */
  readonly #members = new Map<string, Uint32Array>();
  #points = new Uint32Array(0);
  #owners: string[] = [];
  /**
   * Where each range of hashes starts in #points, so a lookup searches about one point instead of all:
   * range `r` holds hashes with top bits `r`, and its points start at `#starts[r]`.
   */
  #starts = new Uint32Array(3);
  #shift = 31;

  /**
   * Makes an empty ring.
   *
   * @param options Points per node and the hash function.
   * @example
   * ```ts
   * import { ConsistentHash } from "./consistent_hash.ts";
   *
   * const ring = new ConsistentHash({ replicas: 512 });
   * ring.get("any"); // undefined: no nodes yet
   * ```
   */
  constructor(options: ConsistentHashOptions = {}) {
    const replicas = options.replicas ?? DEFAULT_REPLICAS;
    if (!Number.isInteger(replicas) || replicas < 1) {
      throw new RangeError(`replicas must be a positive integer, got ${replicas}`);
    }
    this.replicas = replicas;
    this.#hash = options.hash ?? murmur3;
  }

  /**
   * Adds nodes to the ring; adding a node already present changes nothing.
   *
   * @param nodes Node names, such as `host:port`; must be non-empty strings.
   * @example
   * ```ts
   * import { ConsistentHash } from "./consistent_hash.ts";
   *
   * const ring = new ConsistentHash();
   * ring.add("a", "b");
   * ring.nodes(); // ["a", "b"]
   * ```
   */
  add(...nodes: string[]): void {
    if (this.#join(nodes)) this.#rebuild();
  }

  /**
   * Removes nodes from the ring; their keys move to the remaining nodes, no other key moves.
   *
   * @param nodes Node names; names not on the ring are ignored.
   * @example
   * ```ts
   * import { ConsistentHash } from "./consistent_hash.ts";
   *
   * const ring = new ConsistentHash();
   * ring.add("a", "b");
   * ring.remove("a");
   * ring.get("key"); // "b"
   * ```
   */
  remove(...nodes: string[]): void {
    let changed = false;
    for (const node of nodes) changed = this.#members.delete(node) || changed;
    if (changed) this.#rebuild();
  }

  /**
   * Replaces the node set with `nodes`, as when membership reports the full list; nodes in both the old
   * and new set keep their points, so only keys of departed or joining nodes move.
   *
   * @param nodes The complete new node set.
   * @example
   * ```ts
   * import { ConsistentHash } from "./consistent_hash.ts";
   *
   * const ring = new ConsistentHash();
   * ring.add("a", "b");
   * ring.set(["b", "c"]);
   * ring.nodes(); // ["b", "c"]
   * ```
   */
  set(nodes: Iterable<string>): void {
    const wanted = new Set(nodes);
    let changed = this.#join(wanted);
    for (const node of [...this.#members.keys()]) {
      if (wanted.has(node)) continue;
      this.#members.delete(node);
      changed = true;
    }
    if (changed) this.#rebuild();
  }

  /**
   * Names the node owning `key`: a binary search of the points in the key's hash range, O(log points)
   * at worst and about one comparison on average.
   *
   * @param key Any string.
   * @returns The owner, or undefined when the ring is empty.
   * @example
   * ```ts
   * import { ConsistentHash } from "./consistent_hash.ts";
   *
   * const ring = new ConsistentHash();
   * ring.add("only");
   * ring.get("key"); // "only"
   * ```
   */
  get(key: string): string | undefined {
    const points = this.#points;
    if (points.length === 0) return undefined;
    return this.#owners[this.#pointOf(key)];
  }

  /**
   * Names the owner of a key followed by the nodes that would own it if those before them left, in
   * ring order: where a client retries a read when the owner fails.
   *
   * @param key The key.
   * @param count How many distinct nodes at most.
   * @returns Up to `count` distinct nodes, the owner first; empty when the ring is empty.
   * @example
   * ```ts
   * import { ConsistentHash } from "./consistent_hash.ts";
   *
   * const ring = new ConsistentHash();
   * ring.add("a", "b", "c");
   * const [owner, next] = ring.successors("key", 2);
   * owner === ring.get("key"); // true; next is another node
   * ```
   */
  successors(key: string, count: number): string[] {
    const points = this.#points;
    const out: string[] = [];
    if (points.length === 0) return out;
    const wanted = Math.min(count, this.#members.size);
    for (let i = this.#pointOf(key), seen = 0; out.length < wanted && seen < points.length; seen++) {
      const owner = this.#owners[i];
      if (!out.includes(owner)) out.push(owner);
      i = i + 1 === points.length ? 0 : i + 1;
    }
    return out;
  }

  /** The index of the first point at or after the key's hash, wrapping past the last. */
  #pointOf(key: string): number {
    const points = this.#points;
    const h = this.#hash(key) >>> 0;
    // The owner's point is the first >= h: in h's range, or else the first point of a later range.
    const range = h >>> this.#shift;
    let lo = this.#starts[range];
    let hi = this.#starts[range + 1];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (points[mid] < h) lo = mid + 1;
      else hi = mid;
    }
    // Past the last point the ring wraps to the first.
    return lo === points.length ? 0 : lo;
  }

  /**
   * Lists the nodes on the ring.
   *
   * @returns Node names in ascending order.
   * @example
   * ```ts
   * import { ConsistentHash } from "./consistent_hash.ts";
   *
   * const ring = new ConsistentHash();
   * ring.add("b", "a");
   * ring.nodes(); // ["a", "b"]
   * ```
   */
  nodes(): string[] {
    return [...this.#members.keys()].sort();
  }

  /** Adds the nodes not yet present, checking every name first so a bad one changes nothing. */
  #join(nodes: Iterable<string>): boolean {
    const joining = new Set<string>();
    for (const node of nodes) {
      if (typeof node !== "string" || node === "") {
        throw new TypeError(`node must be a non-empty string, got ${JSON.stringify(node)}`);
      }
      if (!this.#members.has(node)) joining.add(node);
    }
    if (this.#members.size + joining.size >= RANK_SPAN) {
      throw new RangeError(`a ring holds at most ${RANK_SPAN - 1} nodes`);
    }
    for (const node of joining) this.#members.set(node, this.#pointsOf(node));
    return joining.size > 0;
  }

  #pointsOf(node: string): Uint32Array {
    const points = new Uint32Array(this.replicas);
    for (let i = 0; i < this.replicas; i++) points[i] = this.#hash(`${node}#${i}`) >>> 0;
    return points;
  }

  #rebuild(): void {
    const names = this.nodes();
    const packed = new Float64Array(names.length * this.replicas);
    let at = 0;
    names.forEach((name, rank) => {
      for (const point of this.#members.get(name)!) packed[at++] = point * RANK_SPAN + rank;
    });
    packed.sort();
    const points = new Uint32Array(packed.length);
    const owners = new Array<string>(packed.length);
    for (let i = 0; i < packed.length; i++) {
      points[i] = Math.floor(packed[i] / RANK_SPAN);
      owners[i] = names[packed[i] % RANK_SPAN];
    }
    // About one point per range (a power of two of ranges, at least 2 as a shift by 32 does nothing in
    // JavaScript, at most 2^20 so the index stays within 4 MiB).
    const bits = Math.min(Math.max(Math.ceil(Math.log2(points.length)), 1), 20);
    const shift = 32 - bits;
    this.#points = points;
    this.#owners = owners;
    this.#starts = rangeStarts(points, shift);
    this.#shift = shift;
  }
}

/** For each range of hashes `point >>> shift`, the index of its first point, and one past the last. */
function rangeStarts(points: Uint32Array, shift: number): Uint32Array<ArrayBuffer> {
  const ranges = 2 ** (32 - shift);
  const starts = new Uint32Array(ranges + 1);
  let at = 0;
  for (let r = 0; r < ranges; r++) {
    while (at < points.length && (points[at] >>> shift) < r) at++;
    starts[r] = at;
  }
  starts[ranges] = points.length;
  return starts;
}
