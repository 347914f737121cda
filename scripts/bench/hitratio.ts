/**
 * Hit ratio of every eviction policy, and of Belady's optimum, on the public traces in ../shared/traces
 * (or the folder `DISTCACHE_TRACES` names), at the capacities its README lists. Checks the harness
 * against the README (LRU and OPT exactly, the reference W-TinyLFU 1% within a point) and `tinylfu`
 * against its targets, with `best2` the better of LRU and the reference W-TinyLFU on a row: on every row
 * at least best2 − 2 and LRU − 1 points, and on average at least best2. Exits 1 when a check fails.
 * @module
 */
import { policies } from "../../src/cache/policies.ts";
import { OPT, replayKeys, traceKeys } from "../hitratio.ts";
import { printHeader, printTable } from "./_util.ts";

const TRACES_ENV = Deno.env.get("DISTCACHE_TRACES");
const TRACES = TRACES_ENV ?? new URL("../../../shared/traces/", import.meta.url).pathname;
/** The folder as the docs name it: beside the clone, unless `DISTCACHE_TRACES` says otherwise. */
const TRACES_SHOWN = TRACES_ENV ?? "../shared/traces";

/** A README row: trace, capacity, and its LRU, W-TinyLFU 1%, best2 and OPT hit ratios in %. */
interface Reference {
  trace: string;
  capacity: number;
  lru: number;
  wtinylfu: number;
  best2: number;
  opt: number;
}

const readme = await Deno.readTextFile(`${TRACES}/README.md`);
const references: Reference[] = [];
for (const m of readme.matchAll(/^\| (\S+) @ (\d+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|$/gm)) {
  references.push({ trace: m[1], capacity: +m[2], lru: +m[3], wtinylfu: +m[4], best2: +m[5], opt: +m[6] });
}
if (references.length === 0) {
  console.error(`no reference rows in ${TRACES}/README.md`);
  Deno.exit(1);
}

await printHeader("hitratio");
const names = [OPT, "lru", "sieve", "fifo", "lfu", "tinylfu", "wtinylfu-fixed"];
for (const name of Object.keys(policies)) if (!names.includes(name)) names.push(name);
const rows: string[][] = [];
const misses: string[] = [];
const harness: string[] = [];
let sumTiny = 0;
let sumBest2 = 0;
let keys: string[] = [];
let loaded = "";
for (const ref of references) {
  if (loaded !== ref.trace) {
    keys = await Array.fromAsync(traceKeys((await Deno.open(`${TRACES}/${ref.trace}.trace.gz`)).readable));
    loaded = ref.trace;
  }
  const ratio: Record<string, number> = {};
  for (const policy of names) ratio[policy] = (await replayKeys(keys, policy, ref.capacity)).hitRatio * 100;
  const row = `${ref.trace} @ ${ref.capacity}`;
  if (ratio.lru.toFixed(2) !== ref.lru.toFixed(2) || ratio[OPT].toFixed(2) !== ref.opt.toFixed(2)) {
    harness.push(`${row} (LRU or OPT differs)`);
  }
  const fixedOff = ratio["wtinylfu-fixed"] - ref.wtinylfu;
  if (Math.abs(fixedOff) > 1) harness.push(`${row} (wtinylfu-fixed ${signed(fixedOff)})`);
  const tiny = ratio.tinylfu;
  const met = tiny >= ref.best2 - 2 && tiny >= ref.lru - 1;
  if (!met) misses.push(row);
  sumTiny += tiny;
  sumBest2 += ref.best2;
  rows.push([
    row,
    ...names.map((n) => ratio[n].toFixed(2)),
    ref.best2.toFixed(2),
    `${signed(tiny - ref.best2)}${met ? "" : " ✗"}`,
  ]);
}
printTable(["trace @ capacity", ...names.map((n) => `${n} %`), "best2 %", "tinylfu − best2"], rows);

const n = references.length;
const meanTiny = sumTiny / n;
const meanBest2 = sumBest2 / n;
console.log(
  `\n- Hit ratio = hits / requests, cold misses included; capacity in entries; rows and \`best2\` (the better ` +
    `of LRU and the reference W-TinyLFU 1%) from ${TRACES_SHOWN}/README.md. Reproduce one cell: ` +
    "`deno task hitratio --trace ../shared/traces/gli.trace.gz --capacity 1000 --policy tinylfu`.",
);
console.log(
  `- tinylfu on every row ≥ best2 − 2 and ≥ lru − 1: ${
    misses.length === 0 ? "met" : `NOT met on ${misses.length} of ${n} rows (${misses.join(", ")})`
  }; mean ${meanTiny.toFixed(2)} against best2's ${meanBest2.toFixed(2)} (target ≥: ${
    meanTiny >= meanBest2 ? "met" : "NOT met"
  }).`,
);
console.log(
  harness.length === 0
    ? "- Harness: LRU and OPT equal the README on every row; wtinylfu-fixed is within 1 point of its W-TinyLFU 1%."
    : `- Harness differs from the README on: ${harness.join(", ")}.`,
);
if (misses.length > 0 || meanTiny < meanBest2 || harness.length > 0) Deno.exit(1);

function signed(x: number): string {
  return `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(2)}`;
}
