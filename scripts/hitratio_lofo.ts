/**
 * Leave-one-family-out check of `tinylfu`'s adaptation parameters: for each family of traces in
 * ../shared/traces (LIRS block traces, cache2k web, cache2k ORM), chooses the parameters from a small grid
 * on the other families' rows only (fewest rows missing the targets, then the highest mean margin over
 * best2), then prints the held-out family's rows with that choice and with the shipped defaults.
 *
 * Usage: `deno run --allow-read --allow-env scripts/hitratio_lofo.ts`
 * @module
 */
import { type TinyLfuAdaptation, TinyLfuCache } from "../src/cache/tinylfu.ts";
import { traceKeys } from "./hitratio.ts";

const TRACES = Deno.env.get("DISTCACHE_TRACES") ?? new URL("../../shared/traces/", import.meta.url).pathname;
const FAMILIES: Record<string, string[]> = {
  lirs: ["gli", "loop", "multi1", "multi2", "sprite", "ps", "cs", "cpp", "zigzag", "scan", "2_pools"],
  web: ["web12"],
  orm: ["orm-night"],
};
/**
 * The grid: ghost list length (and window step, a share of the cache), and the shadow test's threshold
 * in standard deviations. The period stays at the sketch's aging period.
 */
const GRID: TinyLfuAdaptation[] = [];
for (const ghostShare of [0.03125, 0.0625, 0.125]) {
  for (const shadowZ of [2, 3, 4, 6]) GRID.push({ ghostShare, shadowZ });
}

const readme = await Deno.readTextFile(`${TRACES}/README.md`);
const rows: { trace: string; capacity: number; lru: number; best2: number }[] = [];
for (const m of readme.matchAll(/^\| (\S+) @ (\d+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|$/gm)) {
  rows.push({ trace: m[1], capacity: +m[2], lru: +m[3], best2: +m[5] });
}
/** ratio[g][r]: hit ratio in % of grid point g on row r. */
const ratio: number[][] = GRID.map(() => []);
let keys: string[] = [];
let loaded = "";
for (const [r, row] of rows.entries()) {
  if (loaded !== row.trace) {
    keys = await Array.fromAsync(traceKeys((await Deno.open(`${TRACES}/${row.trace}.trace.gz`)).readable));
    loaded = row.trace;
  }
  for (const [g, adaptation] of GRID.entries()) {
    const cache = new TinyLfuCache<true>(
      { maxEntries: row.capacity, maxBytes: Number.MAX_SAFE_INTEGER, sizeOf: () => 1 },
      adaptation,
    );
    let hits = 0;
    for (const key of keys) {
      if (cache.get(key) !== undefined) hits++;
      else cache.set(key, true);
    }
    ratio[g][r] = (hits / keys.length) * 100;
  }
}
/** The grid point the choice rule prefers on `rows` (indices): fewest missed targets, then highest margin. */
function choose(tuning: number[]): { best: number; missed: number; margin: number } {
  const score = (g: number) => ({
    missed: tuning.filter((r) => !met(g, r)).length,
    margin: tuning.reduce((sum, r) => sum + ratio[g][r] - rows[r].best2, 0) / tuning.length,
  });
  let best = 0;
  for (let g = 1; g < GRID.length; g++) {
    const a = score(g), b = score(best);
    if (a.missed < b.missed || (a.missed === b.missed && a.margin > b.margin)) best = g;
  }
  return { best, ...score(best) };
}
const met = (g: number, r: number) => ratio[g][r] >= rows[r].best2 - 2 && ratio[g][r] >= rows[r].lru - 1;
const label = (a: TinyLfuAdaptation) => `ghostShare ${a.ghostShare}, shadowZ ${a.shadowZ}`;
for (const [family, traces] of Object.entries(FAMILIES)) {
  const tuning = rows.flatMap((row, r) => (traces.includes(row.trace) ? [] : [r]));
  const held = rows.flatMap((row, r) => (traces.includes(row.trace) ? [r] : []));
  const { best, ...s } = choose(tuning);
  console.log(
    `\n### held out: ${family} (${traces.join(", ")})\n\nChosen on the other ${tuning.length} rows: ` +
      `${label(GRID[best])} (there ${s.missed} rows miss a target, mean margin over best2 ${
        s.margin.toFixed(2)
      }).\n`,
  );
  console.log("| held-out row | lru % | best2 % | tinylfu, chosen % | target met |");
  console.log("| --- | --- | --- | --- | --- |");
  for (const r of held) {
    const row = rows[r];
    console.log(
      `| ${row.trace} @ ${row.capacity} | ${row.lru.toFixed(2)} | ${row.best2.toFixed(2)} | ${
        ratio[best][r].toFixed(2)
      } | ${met(best, r) ? "yes" : "no"} |`,
    );
  }
  const mean = held.reduce((sum, r) => sum + ratio[best][r] - rows[r].best2, 0) / held.length;
  console.log(
    `\nHeld-out mean margin over best2: ${mean >= 0 ? "+" : "−"}${Math.abs(mean).toFixed(2)} points.`,
  );
}

const all = choose(rows.map((_, r) => r));
console.log(
  `\n### all families\n\nChosen on all ${rows.length} rows: ${
    label(GRID[all.best])
  } (${all.missed} rows miss a ` +
    `target, mean margin over best2 ${all.margin.toFixed(2)}); the grid on all rows:\n`,
);
console.log("| parameters | rows missing a target | mean margin over best2 |");
console.log("| --- | --- | --- |");
for (const [g, adaptation] of GRID.entries()) {
  const missed = rows.filter((_, r) => !met(g, r)).length;
  const margin = rows.reduce((sum, row, r) => sum + ratio[g][r] - row.best2, 0) / rows.length;
  console.log(`| ${label(adaptation)} | ${missed} | ${margin.toFixed(2)} |`);
}
