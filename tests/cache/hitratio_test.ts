import assert from "node:assert/strict";
import { parseFlags, replay, replayKeys, traceKeys, UsageError } from "../../scripts/hitratio.ts";
import { beladyHits } from "../../scripts/_belady.ts";
import { policies } from "../../src/cache/policies.ts";
import { random } from "./_random.ts";

function gzip(text: string): ReadableStream<Uint8Array<ArrayBuffer>> {
  return new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
}

// Requests 1 2 1 3 2 1 4 1 at capacity 2. LRU: 1 miss, 2 miss, 1 hit, 3 miss (evicts 2),
// 2 miss (evicts 1), 1 miss (evicts 3), 4 miss (evicts 2), 1 hit: 2 hits in 8 requests.
const TINY = "1\n2\n1\n*\n\n3\n 2 \n1\n4\n1";

Deno.test("hitratio reads a gzip trace, skipping blank lines and * markers", async () => {
  assert.deepEqual(await Array.fromAsync(traceKeys(gzip(TINY))), ["1", "2", "1", "3", "2", "1", "4", "1"]);
  assert.deepEqual(await Array.fromAsync(traceKeys(gzip("7\n*\n"))), ["7"]);
});

Deno.test("hitratio counts hits on a tiny trace as computed by hand", async () => {
  assert.deepEqual(await replay(gzip(TINY), "lru", 2), {
    policy: "lru",
    capacity: 2,
    requests: 8,
    hits: 2,
    hitRatio: 0.25,
  });
  assert.equal((await replay(gzip(""), "sieve", 2)).hitRatio, 0);
});

Deno.test("hitratio flags: every flag is required and a bad one is named", async (t) => {
  await t.step("accepts --flag value and --flag=value", () => {
    assert.deepEqual(parseFlags(["--trace", "t.gz", "--capacity=10", "--policy", "sieve"]), {
      trace: "t.gz",
      capacity: 10,
      policy: "sieve",
    });
  });
  const cases: [string[], RegExp][] = [
    [["--capacity", "1", "--policy", "lru"], /missing --trace/],
    [["--trace", "t", "--policy", "lru"], /missing --capacity/],
    [["--trace", "t", "--capacity", "1"], /missing --policy <name>; expected one of: lru, sieve/],
    [["--trace", "t", "--capacity", "1.5", "--policy", "lru"], /--capacity must be a positive integer/],
    [["--trace", "t", "--capacity", "0", "--policy", "lru"], /--capacity must be a positive integer/],
    [["--trace", "t", "--capacity", "1", "--policy", "arc"], /--policy "arc" is unknown/],
    [["--trace"], /--trace needs a value/],
    [["--cap", "1"], /unknown flag --cap/],
  ];
  for (const [args, message] of cases) {
    await t.step(`rejects ${args.join(" ")}`, () => {
      assert.throws(
        () => parseFlags(args),
        (err: unknown) => err instanceof UsageError && message.test(err.message),
      );
    });
  }
});

const traces = new URL("../../../shared/traces/", import.meta.url);
const haveTraces = (() => {
  try {
    return Deno.statSync(new URL("gli.trace.gz", traces)).isFile;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "hitratio: LRU on gli @ 1000 gives the reference 11.2% (ignored when ../shared/traces is absent)",
  ignore: !haveTraces,
  async fn() {
    const file = await Deno.open(new URL("gli.trace.gz", traces));
    const result = await replay(file.readable, "lru", 1000);
    assert.equal(result.requests, 6015);
    assert.equal((result.hitRatio * 100).toFixed(1), "11.2");
  },
});

Deno.test({
  name:
    "hitratio: wtinylfu-fixed is within a point of the README's W-TinyLFU 1% (ignored without ../shared/traces)",
  ignore: !haveTraces,
  async fn() {
    for (const [trace, capacity, reference] of [["gli", 1000, 50.54], ["cs", 500, 28.8]] as const) {
      const file = await Deno.open(new URL(`${trace}.trace.gz`, traces));
      const result = await replay(file.readable, "wtinylfu-fixed", capacity);
      const ratio = result.hitRatio * 100;
      assert.ok(Math.abs(ratio - reference) <= 1, `${trace} @ ${capacity}: ${ratio} against ${reference}`);
    }
  },
});

Deno.test("hitratio opt scores Belady's optimum on a tiny trace as computed by hand", async () => {
  // 1 2 1 3 2 1 4 1 at capacity 2: 1 miss, 2 miss, 1 hit, 3 miss (evicts 1, next used at 5, after 2 at 4),
  // 2 hit, 1 miss (evicts 3, never used again), 4 miss (evicts 2, never again), 1 hit: 3 hits.
  assert.deepEqual(await replay(gzip(TINY), "opt", 2), {
    policy: "opt",
    capacity: 2,
    requests: 8,
    hits: 3,
    hitRatio: 0.375,
  });
  assert.equal(beladyHits(["a", "b", "c", "a", "b"], 2), 1);
  assert.equal(beladyHits(["a", "b", "a", "b"], 1), 0);
  assert.equal(beladyHits(["a", "a", "a"], 1), 2);
  assert.deepEqual(parseFlags(["--trace", "t", "--capacity", "1", "--policy", "opt"]).policy, "opt");
  await assert.rejects(replayKeys(traceKeys(gzip(TINY)), "opt", 2), /opt needs the whole trace first/);
});

Deno.test("hitratio: opt is never beaten by any policy on a random trace", async () => {
  const rand = random(3);
  const keys = Array.from({ length: 3_000 }, () => String(Math.floor(rand() ** 2 * 300)));
  const opt = (await replayKeys(keys, "opt", 50)).hits;
  for (const policy of Object.keys(policies)) {
    assert.ok((await replayKeys(keys, policy, 50)).hits <= opt, policy);
  }
});

Deno.test("hitratio: a trace that is not gzip, or is damaged, exits 2 with a message", async (t) => {
  const dir = await Deno.makeTempDir();
  const script = new URL("../../scripts/hitratio.ts", import.meta.url).pathname;
  const run = async (file: string) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", `--allow-read=${dir}`, script, "--trace", file, "--capacity", "10", "--policy", "lru"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
  };
  try {
    await t.step("plain text", async () => {
      await Deno.writeTextFile(`${dir}/plain.trace`, "1\n2\n1\n");
      const r = await run(`${dir}/plain.trace`);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        /^hitratio: --trace .*plain\.trace is not gzip-compressed; a trace is a gzip-compressed text file of one key per line/,
      );
      assert.doesNotMatch(r.stderr, /\s+at /, "no stack trace");
      assert.equal(r.stdout, "");
    });
    await t.step("a gzip header over damaged data", async () => {
      const gzip = new Uint8Array(
        await new Response(
          new Blob(["1\n2\n".repeat(1000)]).stream().pipeThrough(new CompressionStream("gzip")),
        )
          .arrayBuffer(),
      );
      await Deno.writeFile(`${dir}/damaged.trace.gz`, gzip.slice(0, gzip.length / 2));
      const r = await run(`${dir}/damaged.trace.gz`);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^hitratio: --trace .*damaged\.trace\.gz is not a readable gzip trace: /);
      assert.doesNotMatch(r.stderr, /\s+at /, "no stack trace");
    });
    await t.step("a good trace still replays", async () => {
      const gzip = new Blob(["1\n2\n1\n"]).stream().pipeThrough(new CompressionStream("gzip"));
      await Deno.writeFile(`${dir}/good.trace.gz`, gzip);
      const r = await run(`${dir}/good.trace.gz`);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), {
        policy: "lru",
        capacity: 10,
        requests: 3,
        hits: 1,
        hitRatio: 1 / 3,
      });
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
