import assert from "node:assert/strict";
import { GhostList } from "../../src/cache/_ghost_list.ts";
import { random } from "./_random.ts";

/** The behaviour the list must keep: a `Map` in insertion order, the newest `capacity` hashes, each once. */
class MapModel {
  readonly hashes = new Map<number, true>();
  add(hash: number, capacity: number): void {
    this.hashes.delete(hash);
    this.hashes.set(hash, true);
    const oldest = this.hashes.keys();
    while (this.hashes.size > capacity) this.hashes.delete(oldest.next().value!);
  }
  take(hash: number): boolean {
    return this.hashes.delete(hash);
  }
}

Deno.test("GhostList takes and drops hashes as an insertion-ordered Map does, through compactions and growth", () => {
  for (const seed of [1, 2, 3]) {
    const rand = random(seed);
    const ghosts = new GhostList();
    const model = new MapModel();
    let capacity = 50;
    for (let step = 0; step < 60_000; step++) {
      // Few distinct hashes, so re-adds and takes of held ones are common; now and then the capacity moves.
      const hash = Math.floor(rand() * 400) * 0x10001;
      if (step % 5_000 === 0) capacity = 1 + Math.floor(rand() * 300);
      if (rand() < 0.6) {
        ghosts.add(hash, capacity);
        model.add(hash, capacity);
      } else {
        assert.equal(ghosts.take(hash), model.take(hash), `seed ${seed} step ${step}: take(${hash})`);
      }
      assert.equal(ghosts.size, model.hashes.size);
    }
    // The same hashes are held: taking each of the model's succeeds, and then nothing is left.
    for (const hash of model.hashes.keys()) assert.equal(ghosts.take(hash), true);
    assert.equal(ghosts.size, 0);
    ghosts.add(7, 1);
    ghosts.clear();
    assert.equal(ghosts.take(7), false);
  }
});

Deno.test("GhostList keeps the newest hashes when a long run of distinct ones passes through", () => {
  const ghosts = new GhostList();
  for (let hash = 1; hash <= 100_000; hash++) ghosts.add(hash, 1_000);
  assert.equal(ghosts.size, 1_000);
  assert.equal(ghosts.take(99_000), false);
  assert.equal(ghosts.take(99_001), true);
  assert.equal(ghosts.take(100_000), true);
});
