/**
 * Hit ratio of every eviction policy on the public traces in ../shared/traces, at the capacities whose
 * LRU and OPT (Belady) ratios that folder's README gives, so the harness is checked on every run.
 * @module
 */
import { policies } from "../../src/cache/policies.ts";
import { replay } from "../hitratio.ts";
import { printHeader, printTable } from "./_util.ts";

const TRACES = new URL("../../../shared/traces/", import.meta.url);

/** trace, capacity, and the README's OPT and LRU hit ratios in %. */
const REFERENCE: [string, number, number, number][] = [
  ["gli", 1000, 53.1, 11.2],
  ["loop", 768, 75.8, 0.0],
  ["multi2", 2000, 74.7, 49.0],
  ["sprite", 800, 92.2, 88.6],
  ["2_pools", 200, 56.4, 36.8],
];

await printHeader("hitratio");
const names = Object.keys(policies);
const rows: string[][] = [];
let mismatch = false;
for (const [trace, capacity, opt, lru] of REFERENCE) {
  const file = new URL(`${trace}.trace.gz`, TRACES);
  let ratios: number[];
  try {
    ratios = [];
    for (const policy of names) {
      const gzip = (await Deno.open(file)).readable;
      ratios.push((await replay(gzip, policy, capacity)).hitRatio * 100);
    }
  } catch (e) {
    console.log(`skipped ${trace}: ${(e as Error).message}`);
    continue;
  }
  const ours = ratios[names.indexOf("lru")];
  if (Math.abs(ours - lru) > 0.1) mismatch = true;
  rows.push([`${trace} @ ${capacity}`, ...ratios.map((r) => r.toFixed(2)), lru.toFixed(1), opt.toFixed(1)]);
}
printTable(["trace @ capacity", ...names.map((n) => `${n} %`), "README LRU %", "README OPT %"], rows);
console.log(
  `\n- Hit ratio = hits / requests, cold misses included; capacity in entries. ` +
    `Reproduce one cell: \`deno task hitratio --trace ../shared/traces/gli.trace.gz --capacity 1000 --policy lru\`.`,
);
if (mismatch) {
  console.log("- LRU differs from the README's LRU column by more than 0.1 points: the harness is wrong.");
  Deno.exit(1);
}
console.log(
  rows.length === REFERENCE.length
    ? "- LRU matches the README's LRU column within 0.1 points on every trace."
    : `- Only ${rows.length} of ${REFERENCE.length} traces were found in ${TRACES.pathname}.`,
);
