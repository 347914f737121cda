/**
 * TinyLfuCache against LruCache, same workload as the lru benchmark, in a process of its own (see the
 * note in lru.ts on why the two are not measured in one process with lru-cache).
 * @module
 */
const lru = new URL("./lru.ts", import.meta.url).pathname;
const { code } = await new Deno.Command(Deno.execPath(), {
  args: ["run", "--allow-read", "--allow-env", "--v8-flags=--expose-gc", lru, "tinylfu"],
  stdout: "inherit",
  stderr: "inherit",
}).output();
Deno.exit(code);
