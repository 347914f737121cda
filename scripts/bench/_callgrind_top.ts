/**
 * Summarises a callgrind profile of a Deno process as instructions per request, by function: V8's
 * compiled JavaScript and its builtins are named from the process's perf map (`--v8-flags=--perf-basic-prof`
 * writes `/tmp/perf-<pid>.map`), libc by its symbols, and Deno's own Rust code, which ships without
 * symbols, by address. Instruction counts repeat within about 3% from run to run on a busy machine, where
 * timings do not. docs/BENCHMARKS.md shows how the hit path was measured with it.
 *
 * Run: `deno run --allow-read --allow-run=callgrind_annotate scripts/bench/_callgrind_top.ts <callgrind.out>
 * <perf map> <requests> [top=30]`
 * @module
 */

const [file, mapFile, requestsArg, topArg] = Deno.args;
if (!file || !mapFile || !requestsArg) {
  console.error("usage: _callgrind_top.ts <callgrind.out> <perf map> <requests> [top]");
  Deno.exit(2);
}
const requests = Number(requestsArg);
const top = Number(topArg ?? 30);
/** Where valgrind loads a position-independent executable: the deno binary's addresses are offsets from it. */
const PIE_BASE = 0x108000;

const entries = (await Deno.readTextFile(mapFile)).split("\n").filter(Boolean).map((line) => {
  const [start, size, ...name] = line.split(" ");
  return { start: parseInt(start, 16), end: parseInt(start, 16) + parseInt(size, 16), name: name.join(" ") };
}).sort((a, b) => a.start - b.start);

/** The perf map's name for the code at `address`, or undefined. */
function nameAt(address: number): string | undefined {
  let lo = 0, hi = entries.length - 1, found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (entries[mid].start <= address) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  for (let i = found; i >= 0 && i > found - 50; i--) {
    if (entries[i].start <= address && address < entries[i].end) return entries[i].name;
  }
  return undefined;
}

const annotate = new Deno.Command("callgrind_annotate", { args: ["--threshold=100", file], stdout: "piped" });
const out = new TextDecoder().decode((await annotate.output()).stdout);
const byName = new Map<string, number>();
let total = 0;
for (const line of out.split("\n")) {
  const m = /^\s*([\d,]+)\s+\([\s\d.]+%\)\s+(.*)$/.exec(line);
  if (!m || line.includes("PROGRAM TOTALS")) continue;
  const instructions = Number(m[1].replaceAll(",", "")) / requests;
  let name = m[2];
  const unnamed = /^\?\?\?:0x([0-9a-f]+) \[(.*)\]$/.exec(name);
  if (unnamed) {
    const jit = unnamed[2] === "???";
    const address = parseInt(unnamed[1], 16) + (jit ? 0 : PIE_BASE);
    name = nameAt(address) ?? (jit ? "(compiled code, unnamed)" : `deno ${unnamed[1]}`);
  } else {
    name = name.replace(/^.*:(\S+) \[.*\/(lib[^/\]]+)\]$/, "$2 $1");
  }
  name = name.replace(/file:\/\/\S*?\/(src|main\.ts)/, "$1");
  byName.set(name, (byName.get(name) ?? 0) + instructions);
  total += instructions;
}
console.log(`${Math.round(total)} instructions per request over ${requests} requests`);
console.log("| instructions / request | function |");
console.log("| ---: | --- |");
for (const [name, n] of [...byName].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`| ${Math.round(n)} | \`${name}\` |`);
}
