/**
 * TinyLfuCache against LruCache, same workload as the lru benchmark, in a process of its own (see the
 * note in lru.ts on why the two are not measured in one process with lru-cache). Prints the load average
 * before and after, since on a shared machine the per-slice ratios spread with it.
 * @module
 */
import { loadAverage, printHeader } from "./_util.ts";

await printHeader("tinylfu");
const before = await loadAverage();
const lru = new URL("./lru.ts", import.meta.url).pathname;
const { code } = await new Deno.Command(Deno.execPath(), {
  args: ["run", "--allow-read", "--allow-env", "--v8-flags=--expose-gc", lru, "tinylfu"],
  stdout: "inherit",
  stderr: "inherit",
}).output();
console.log(`\nLoad average (1 minute) just before the run: ${before}; just after: ${await loadAverage()}.`);
Deno.exit(code);
