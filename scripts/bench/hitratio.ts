/**
 * Hit ratio of every eviction policy, and of Belady's optimum, on the public traces in ../shared/traces:
 * at the capacities whose LRU and OPT ratios that folder's README gives (so the harness is checked on
 * every run), and at half and twice each of them. Checks the targets for `tinylfu`: never more than 1
 * point below LRU, and on average at least 10 points above it.
 * @module
 */
import { policies } from "../../src/cache/policies.ts";
import { OPT, replayKeys, traceKeys } from "../hitratio.ts";
import { printHeader, printTable } from "./_util.ts";

const TRACES = new URL("../../../shared/traces/", import.meta.url);

/** trace, capacities, and the README's capacity with its OPT and LRU hit ratios in %. */
const TRACE_CAPACITIES: [string, number[], [number, number, number]?][] = [
  ["gli", [500, 1000, 2000], [1000, 53.1, 11.2]],
  ["loop", [384, 768, 1536], [768, 75.8, 0.0]],
  ["multi2", [1000, 2000, 4000], [2000, 74.7, 49.0]],
  ["sprite", [400, 800, 1600], [800, 92.2, 88.6]],
  ["2_pools", [100, 200, 400], [200, 56.4, 36.8]],
  // The README gives no reference capacity for these two: a sixth, a third and two thirds of their keys.
  ["cs", [250, 500, 1000]],
  ["ps", [500, 1000, 2000]],
];
/** How far below LRU tinylfu may fall on any row, and how far above it it must be on average, in points. */
const MAX_LOSS = 1;
const MIN_MEAN_GAIN = 10;

await printHeader("hitratio");
const names = [...Object.keys(policies), OPT];
const rows: string[][] = [];
const gains: number[] = [];
const toOpt: number[] = [];
let worst = { gain: Infinity, row: "" };
let mismatch = "";
let missing = 0;
for (const [trace, capacities, reference] of TRACE_CAPACITIES) {
  let keys: string[];
  try {
    keys = await Array.fromAsync(traceKeys((await Deno.open(new URL(`${trace}.trace.gz`, TRACES))).readable));
  } catch (e) {
    console.log(`skipped ${trace}: ${(e as Error).message}`);
    missing++;
    continue;
  }
  for (const capacity of capacities) {
    const ratio: Record<string, number> = {};
    for (const policy of names) ratio[policy] = (await replayKeys(keys, policy, capacity)).hitRatio * 100;
    const row = `${trace} @ ${capacity}`;
    const gain = ratio.tinylfu - ratio.lru;
    gains.push(gain);
    toOpt.push(ratio[OPT] - ratio.tinylfu);
    if (gain < worst.gain) worst = { gain, row };
    if (reference !== undefined && reference[0] === capacity) {
      const [, opt, lru] = reference;
      if (Math.abs(ratio.lru - lru) > 0.1 || Math.abs(ratio[OPT] - opt) > 0.1) mismatch += ` ${row}`;
    }
    rows.push([
      reference?.[0] === capacity ? `**${row}**` : row,
      ...names.map((n) => ratio[n].toFixed(2)),
      signed(gain),
      (ratio[OPT] - ratio.tinylfu).toFixed(2),
    ]);
  }
}
printTable(["trace @ capacity", ...names.map((n) => `${n} %`), "tinylfu − lru", "opt − tinylfu"], rows);

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const meanGain = mean(gains);
const lossOk = worst.gain >= -MAX_LOSS;
const gainOk = meanGain >= MIN_MEAN_GAIN;
console.log(
  `\n- Hit ratio = hits / requests, cold misses included; capacity in entries. **Bold** rows are the ` +
    `README's reference capacities; the others are half and twice them. Reproduce one cell: ` +
    "`deno task hitratio --trace ../shared/traces/gli.trace.gz --capacity 1000 --policy tinylfu` " +
    `(\`--policy opt\` for Belady's optimum).`,
);
console.log(
  `- tinylfu vs lru over ${gains.length} rows: mean ${
    signed(meanGain)
  } points (target ≥ +${MIN_MEAN_GAIN}: ` +
    `${gainOk ? "met" : "NOT met"}); worst ${signed(worst.gain)} on ${worst.row} (target ≥ −${MAX_LOSS}: ` +
    `${lossOk ? "met" : "NOT met"}); mean gap to opt ${mean(toOpt).toFixed(2)} points.`,
);
console.log(
  mismatch === ""
    ? "- LRU and OPT match the README's columns within 0.1 points at every reference capacity."
    : `- LRU or OPT differs from the README by more than 0.1 points on${mismatch}: the harness is wrong.`,
);
if (missing > 0) console.log(`- ${missing} trace(s) were not found in ${TRACES.pathname}.`);
if (mismatch !== "") Deno.exit(1);

function signed(x: number): string {
  return `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(2)}`;
}
