/**
 * Summarises a V8 CPU profile (`deno run --cpu-prof-dir=<dir> ...`): the functions with the most self
 * time, with their total (inclusive) time, over the last `seconds` of the profile (the load, without
 * start-up) and without idle samples. docs/BENCHMARKS.md shows how the hit path was profiled with it.
 *
 * Run: `deno run --allow-read scripts/bench/_profile_top.ts <file.cpuprofile> [top=25] [seconds]`
 * @module
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg, secondsArg] = Deno.args;
if (!file) {
  console.error("usage: _profile_top.ts <file.cpuprofile> [top] [seconds]");
  Deno.exit(2);
}
const profile: Profile = JSON.parse(await Deno.readTextFile(file));
const top = Number(topArg ?? 25);
const window = Number(secondsArg ?? 0) * 1e6;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const label = (n: ProfileNode) => {
  const f = n.callFrame;
  const where = f.url ? `${f.url.split("/").slice(-2).join("/")}:${f.lineNumber + 1}` : "native";
  return `${f.functionName || "(anonymous)"} ${where}`;
};

// A sample's time is the gap to the next sample.
const times: number[] = [];
let t = profile.startTime;
for (const d of profile.timeDeltas) times.push(t += d);
const end = times[times.length - 1];
const self = new Map<string, number>();
const total = new Map<string, number>();
let busy = 0;
for (let i = 0; i < profile.samples.length - 1; i++) {
  if (window && times[i] < end - window) continue;
  const node = byId.get(profile.samples[i])!;
  if (node.callFrame.functionName === "(idle)") continue;
  const dt = times[i + 1] - times[i];
  busy += dt;
  self.set(label(node), (self.get(label(node)) ?? 0) + dt);
  const seen = new Set<string>();
  for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
    const name = label(byId.get(id)!);
    if (seen.has(name)) continue;
    seen.add(name);
    total.set(name, (total.get(name) ?? 0) + dt);
  }
}

console.log(`busy (non-idle) time: ${(busy / 1000).toFixed(0)} ms`);
console.log("| self % | total % | function |");
console.log("| ---: | ---: | --- |");
for (const [name, time] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  const pct = (x: number) => (100 * x / busy).toFixed(1);
  console.log(`| ${pct(time)} | ${pct(total.get(name) ?? 0)} | \`${name}\` |`);
}
