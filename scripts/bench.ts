/**
 * Runs the benchmarks: every `scripts/bench/<name>.ts`, or only those named on the command line
 * (`deno task bench lru ring`). Each prints a markdown table for docs/BENCHMARKS.md. Flags after the names
 * are passed to each benchmark (`deno task bench memory --churn-seconds 600`).
 * @module
 */

const dir = new URL("./bench/", import.meta.url);
const available: string[] = [];
for await (const entry of Deno.readDir(dir)) {
  if (entry.isFile && entry.name.endsWith(".ts") && !entry.name.startsWith("_")) {
    available.push(entry.name.slice(0, -3));
  }
}
available.sort();

const firstFlag = Deno.args.findIndex((arg) => arg.startsWith("--"));
const names = firstFlag === -1 ? Deno.args : Deno.args.slice(0, firstFlag);
const flags = firstFlag === -1 ? [] : Deno.args.slice(firstFlag);
const chosen = names.length > 0 ? names : available;
for (const name of chosen) {
  if (!available.includes(name)) {
    console.error(`unknown benchmark "${name}"; expected one of: ${available.join(", ")}`);
    Deno.exit(2);
  }
}

const failed: string[] = [];
for (const name of chosen) {
  console.log(`\n## ${name}\n`);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-run",
      "--allow-sys",
      "--v8-flags=--expose-gc",
      new URL(`${name}.ts`, dir).pathname,
      ...flags,
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const status = await child.status;
  // A benchmark exits non-zero when it misses a target or fails; the others still run, and this one
  // exits non-zero at the end.
  if (!status.success) {
    console.error(`benchmark ${name} failed with exit code ${status.code}`);
    failed.push(name);
  }
}
if (failed.length > 0) {
  console.error(`failed or missed a target: ${failed.join(", ")}`);
  Deno.exit(1);
}
