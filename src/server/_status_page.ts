/**
 * The HTML of a node's status page: plain HTML and a little script that reads `/_status` every two
 * seconds and asks `/_status/owner` who owns a key. Kept as a constant so the node serves it without
 * reading a file (the start task's read permission stays narrow) and without a build step.
 * @module
 */

/** The page served at `GET /`. */
export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>distcache status</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2430; max-width: 60rem; }
  h1 { font-size: 1.3rem; margin: 0 0 .25rem; }
  h2 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #dde2ea; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  .bar { background: #e8edf4; height: .7rem; width: 12rem; display: inline-block; vertical-align: middle; }
  .bar > span { background: #3b6fd4; height: 100%; display: block; }
  .self { font-weight: 600; }
  .muted { color: #6b7686; }
  form { display: flex; gap: .5rem; align-items: center; }
  input { font: inherit; padding: .3rem .5rem; width: 18rem; }
  #error { color: #b3261e; }
</style>
</head>
<body>
<h1>distcache <span id="node" class="muted"></span></h1>
<div id="error" role="alert"></div>

<h2>Ring</h2>
<table id="members">
  <thead><tr><th>member</th><th class="num">share of keys</th><th></th></tr></thead>
  <tbody></tbody>
</table>
<p class="muted" id="sampled"></p>

<h2>Which node owns a key?</h2>
<form id="lookup">
  <input id="key" name="key" placeholder="e.g. CNF-001" required>
  <button type="submit">Look up</button>
  <output id="owner" for="key"></output>
</form>

<h2>This node</h2>
<table id="groups">
  <thead><tr>
    <th>group</th><th class="num">gets</th><th class="num">hit ratio</th><th class="num">main hits</th>
    <th class="num">hot hits</th><th class="num">not-found hits</th><th class="num">source loads</th>
    <th class="num">peer loads</th><th class="num">peer errors</th><th class="num">items</th>
    <th class="num">bytes</th>
  </tr></thead>
  <tbody></tbody>
</table>

<script>
"use strict";
const $ = (id) => document.getElementById(id);
function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}
function percent(x) { return (x * 100).toFixed(1) + " %"; }

function render(status) {
  $("node").textContent = status.node + " (gRPC " + status.grpc + ")";
  const members = $("members").tBodies[0];
  members.replaceChildren(...status.ring.members.map((m) => {
    const tr = document.createElement("tr");
    tr.dataset.member = m.id;
    if (m.self) tr.className = "self";
    tr.append(cell(m.id + (m.self ? " (this node)" : "")), cell(percent(m.share), "num"));
    const bar = document.createElement("td");
    bar.innerHTML = '<span class="bar"><span></span></span>';
    bar.querySelector(".bar > span").style.width = (m.share * 100) + "%";
    tr.append(bar);
    return tr;
  }));
  $("sampled").textContent = "Shares estimated from " + status.ring.sampledKeys + " sampled keys.";
  const groups = $("groups").tBodies[0];
  groups.replaceChildren(...status.groups.map((g) => {
    const s = g.stats, c = g.caches;
    const tr = document.createElement("tr");
    tr.dataset.group = g.name;
    tr.append(
      cell(g.name), cell(s.gets, "num"), cell(percent(g.hitRatio), "num"), cell(s.cacheHits, "num"),
      cell(s.hotHits, "num"), cell(s.negativeHits, "num"), cell(s.localLoads, "num"),
      cell(s.peerLoads, "num"), cell(s.peerErrors, "num"), cell(c.main.items + c.hot.items, "num"),
      cell(c.main.bytes + c.hot.bytes, "num"),
    );
    return tr;
  }));
}

async function refresh() {
  try {
    const res = await fetch("/_status", { cache: "no-store" });
    if (!res.ok) throw new Error("/_status answered " + res.status);
    render(await res.json());
    $("error").textContent = "";
    document.body.dataset.loaded = "true";
  } catch (e) {
    $("error").textContent = "cannot read /_status: " + e.message;
  }
}

$("lookup").addEventListener("submit", async (event) => {
  event.preventDefault();
  const key = $("key").value;
  const out = $("owner");
  out.textContent = "...";
  try {
    const res = await fetch("/_status/owner?key=" + encodeURIComponent(key), { cache: "no-store" });
    const body = await res.json();
    out.dataset.owner = res.ok ? body.owner : "";
    out.textContent = res.ok ? body.owner + (body.self ? " (this node)" : "") : body.error;
  } catch (e) {
    out.textContent = "lookup failed: " + e.message;
  }
});

refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
`;
