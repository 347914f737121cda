import assert from "node:assert/strict";
import { parse } from "yaml";
import { startPrometheus } from "../../scripts/_prometheus.ts";
import { Group } from "../../src/cache/group.ts";
import { LoadLimit } from "../../src/load_limit.ts";
import { NodeMetrics } from "../../src/metrics.ts";
import { freePort } from "../_node.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const RULES = "config/prometheus/alerts.yml";
const TESTS = "config/prometheus/alerts_test.yml";

/** The signals docs/OPERATIONS.md promises an alert for. */
const EXPECTED = [
  "DistcacheNodeDown",
  "DistcacheRingSmallerThanExpected",
  "DistcacheEtcdDisconnected",
  "DistcacheHitRatioFalling",
  "DistcachePeerErrors",
  "DistcacheDatabaseLoadErrors",
  "DistcacheStaleAnswersServed",
  "DistcacheLoadLimitReached",
];

/** Series the rules read that no node exports: Prometheus's own `up`. */
const NOT_FROM_NODES = new Set(["up"]);

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  annotations?: Record<string, string>;
}

interface AlertTest {
  alertname: string;
  exp_alerts: unknown[];
}

async function run(command: string, args: string[]): Promise<{ code: number; output: string }> {
  const out = await new Deno.Command(command, { args, cwd: ROOT, stdout: "piped", stderr: "piped" }).output();
  const decoder = new TextDecoder();
  return { code: out.code, output: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
}

async function rules(): Promise<Rule[]> {
  const doc = parse(await Deno.readTextFile(ROOT + RULES)) as { groups: { rules: Rule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

/** GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces as hyphens. */
function anchor(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^a-z0-9 _-]/g, "").replace(/ /g, "-");
}

/** The names of the series a node exports, read from a registry like a node's. */
async function exportedNames(): Promise<Set<string>> {
  const group = new Group({ name: "metrics", getter: () => Promise.resolve(null), cacheBytes: 1 << 20 });
  const metrics = new NodeMetrics(() => [group]);
  metrics.watchEtcd(() => true);
  metrics.watchLoadLimit(new LoadLimit(1, 1));
  const names = new Set<string>();
  for (const line of (await metrics.text()).split("\n")) {
    const m = /^# TYPE (\S+) (\S+)/.exec(line);
    if (!m) continue;
    names.add(m[1]);
    if (m[2] === "histogram") { for (const s of ["_bucket", "_sum", "_count"]) names.add(m[1] + s); }
  }
  return names;
}

Deno.test("promtool accepts the alert rules and passes their unit tests", async () => {
  const checked = await run("promtool", ["check", "rules", RULES]);
  assert.equal(checked.code, 0, checked.output);
  const tested = await run("promtool", ["test", "rules", TESTS]);
  assert.equal(tested.code, 0, tested.output);
  assert.match(tested.output, /SUCCESS/);
  const config = await run("promtool", ["check", "config", "config/prometheus.yml"]);
  assert.equal(config.code, 0, config.output);
  assert.match(config.output, /alerts\.yml/, "config/prometheus.yml does not load the alert rules");
});

Deno.test("every alert has a summary, a runbook in docs/OPERATIONS.md and a firing and a quiet test", async () => {
  const alerts = (await rules()).filter((r) => r.alert);
  assert.deepEqual(alerts.map((a) => a.alert).sort(), [...EXPECTED].sort());
  const operations = await Deno.readTextFile(`${ROOT}docs/OPERATIONS.md`);
  const anchors = new Set(
    operations.split("\n").filter((l) => /^#{1,6} /.test(l)).map((l) => anchor(l.replace(/^#+ /, ""))),
  );
  const doc = parse(await Deno.readTextFile(ROOT + TESTS)) as { tests: { alert_rule_test: AlertTest[] }[] };
  const cases = doc.tests.flatMap((t) => t.alert_rule_test);
  for (const a of alerts) {
    const name = a.alert!;
    assert.ok(a.annotations?.summary, `${name} has no summary`);
    assert.ok(a.annotations?.description, `${name} has no description`);
    const runbook = /^docs\/OPERATIONS\.md#(.+)$/.exec(a.annotations?.runbook_url ?? "");
    assert.ok(runbook, `${name}'s runbook_url is not a link into docs/OPERATIONS.md`);
    assert.ok(anchors.has(runbook[1]), `docs/OPERATIONS.md has no section #${runbook[1]} for ${name}`);
    const mine = cases.filter((c) => c.alertname === name);
    assert.ok(mine.some((c) => c.exp_alerts.length > 0), `no test in ${TESTS} where ${name} fires`);
    assert.ok(mine.some((c) => c.exp_alerts.length === 0), `no test in ${TESTS} where ${name} stays quiet`);
  }
});

Deno.test("the rules read only series that nodes export", async () => {
  const exported = await exportedNames();
  for (const rule of await rules()) {
    const names = rule.expr.match(/\b(?:distcache_[a-z0-9_]+|up)\b(?=\s*[{\[)])/g) ?? [];
    assert.ok(names.length > 0, `no series found in ${rule.alert ?? rule.record}`);
    for (const name of names) {
      assert.ok(
        exported.has(name) || NOT_FROM_NODES.has(name),
        `${rule.alert ?? rule.record} reads ${name}, which no node exports`,
      );
    }
  }
});

Deno.test("Prometheus started with config/prometheus.yml loads every alert", async () => {
  const dataDir = await Deno.makeTempDir();
  const prometheus = await startPrometheus({ dataDir, port: freePort() });
  try {
    if (!prometheus) throw new Error("prometheus is not installed (scripts/setup.sh installs it)");
    const res = await fetch(`${prometheus.url}/api/v1/rules?type=alert`);
    const body = await res.json();
    assert.equal(body.status, "success", JSON.stringify(body));
    const loaded = body.data.groups.flatMap((g: { rules: { name: string }[] }) => g.rules.map((r) => r.name));
    assert.deepEqual(loaded.sort(), [...EXPECTED].sort());
  } finally {
    await prometheus?.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});
