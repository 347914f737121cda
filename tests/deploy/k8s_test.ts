/**
 * deploy/k8s renders offline with `kubectl kustomize`, every object is valid against the Kubernetes
 * schemas, and what the manifests say about the node (flags, ports, env, probe paths, memory, grace
 * period) agrees with main.ts, deno.json, deploy/k8s/config.yml and deploy/Containerfile.
 */
import assert from "node:assert/strict";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Service } from "kubernetes-models/v1/Service";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { type Config, loadConfig, toConfig } from "../../src/config.ts";
import { startNodeProcess } from "../_node.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const MIB = 1024 * 1024;

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

const MODELS: Record<string, { new (data: never): { validate(): void } }> = {
  "v1/ConfigMap": ConfigMap,
  "v1/Service": Service,
  "apps/v1/StatefulSet": StatefulSet,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
};

async function render(): Promise<Obj[]> {
  let out;
  try {
    out = await new Deno.Command("kubectl", {
      args: ["kustomize", `${ROOT}deploy/k8s`],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    throw new Error(`kubectl is needed to render deploy/k8s (kubectl kustomize): ${(e as Error).message}`);
  }
  const text = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return parseAllDocuments(text).map((d) => d.toJSON());
}

/** The sizing rule as docs/OPERATIONS.md states it: "request = <fixed> MiB + <factor> x ...". */
const SIZING = /request = (\d+) MiB \+ ([\d.]+) x[^,]*, limit = (?:1\.25 x request|request x 1\.25)/;
const sizingIn = (path: string) => {
  const m = SIZING.exec(Deno.readTextFileSync(`${ROOT}${path}`));
  assert.ok(m, `${path} states no memory sizing rule (request = <MiB> MiB + <factor> x cache_bytes)`);
  return { fixed: Number(m[1]), factor: Number(m[2]) };
};
const SIZING_RULE = sizingIn("docs/OPERATIONS.md");

/** The memory a node needs for `cacheBytes` of cache: see docs/OPERATIONS.md, "Kubernetes". */
function nodeMemoryMiB(cacheBytes: number): { request: number; limit: number } {
  const request = SIZING_RULE.fixed + Math.ceil(SIZING_RULE.factor * cacheBytes / MIB);
  return { request, limit: Math.ceil(request * 1.25) };
}

function mebibytes(quantity: string): number {
  const m = /^(\d+)(Mi|Gi)$/.exec(quantity);
  assert.ok(m, `memory quantity ${quantity}: expected Mi or Gi`);
  return Number(m[1]) * (m[2] === "Gi" ? 1024 : 1);
}

const objects = await render();
const find = (kind: string, name: string) => {
  const o = objects.find((x) => x.kind === kind && x.metadata?.name === name);
  assert.ok(o, `no ${kind} ${name} in the rendered manifests`);
  return o;
};
const configText = await Deno.readTextFile(`${ROOT}deploy/k8s/config.yml`);
const config: Config = toConfig(parseYaml(configText));
const nodes = find("StatefulSet", "distcache");
const pod = nodes.spec.template;
const container = pod.spec.containers[0];

Deno.test("kubectl kustomize deploy/k8s renders objects that are valid against the Kubernetes schemas", () => {
  assert.deepEqual(
    objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(),
    [
      "ConfigMap/" + objects.find((o) => o.kind === "ConfigMap")!.metadata.name,
      "PodDisruptionBudget/distcache",
      "PodDisruptionBudget/distcache-etcd",
      "Service/distcache",
      "Service/distcache-etcd",
      "Service/distcache-peers",
      "StatefulSet/distcache",
      "StatefulSet/distcache-etcd",
    ].sort(),
  );
  for (const o of objects) {
    const Model = MODELS[`${o.apiVersion}/${o.kind}`];
    assert.ok(Model, `no schema for ${o.apiVersion} ${o.kind}`);
    assert.doesNotThrow(() => new Model(o as never).validate(), `${o.kind} ${o.metadata.name}`);
  }
  // The validation is real: a wrong type is refused.
  const broken = structuredClone(nodes);
  broken.spec.template.spec.containers[0].ports[0].containerPort = "2222";
  assert.throws(() => new StatefulSet(broken).validate(), /containerPort must be integer/);
});

Deno.test("the node's container runs deno task start with main.ts flags, the pod IP as --host", async () => {
  const containerfile = await Deno.readTextFile(`${ROOT}deploy/Containerfile`);
  assert.match(containerfile, /^FROM debian:/m);
  assert.match(containerfile, /npm install -g "deno@\$\{DENO_VERSION\}"/);
  assert.match(containerfile, /^ARG DENO_VERSION=2\.8\.3$/m);
  assert.match(containerfile, /^USER 10001:10001$/m);
  assert.match(containerfile, /^WORKDIR \/app$/m);
  const entry = /^ENTRYPOINT (\[.*\])$/m.exec(containerfile)?.[1];
  assert.deepEqual(container.command, JSON.parse(entry!));
  assert.deepEqual(container.command, ["deno", "task", "start"]);
  assert.equal(pod.spec.securityContext.runAsUser, 10001);
  assert.equal(pod.spec.securityContext.runAsNonRoot, true);

  const env = Object.fromEntries(container.env.map((e: Obj) => [e.name, e.valueFrom]));
  assert.equal(env.POD_IP.fieldRef.fieldPath, "status.podIP");
  assert.deepEqual(env.DISTCACHE_PEER_TOKEN.secretKeyRef, { name: "distcache-peer-token", key: "token" });
  assert.deepEqual(env.DISTCACHE_DB_URL.secretKeyRef, { name: "distcache-db", key: "url" });
  // The token variable is the one main.ts reads and the start task lets it read.
  const startTask: string = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).tasks.start;
  assert.match(startTask, /--allow-env=[^ ]*\bDISTCACHE_PEER_TOKEN\b/);

  // main.ts accepts the arguments, with the values Kubernetes puts in, and reads the mounted config.
  const mount = container.volumeMounts.find((m: Obj) => m.name === "config");
  assert.equal(mount.mountPath, "/app/etc");
  const args = (container.args as string[]).map((a) =>
    a.replace("$(POD_IP)", "10.1.2.3").replace("$(DISTCACHE_DB_URL)", "mysql://u:p@db:3306/distcache")
      .replace(/^etc\/config\.yml$/, `${ROOT}deploy/k8s/config.yml`)
  );
  assert.deepEqual(container.args.slice(0, 2), ["--config", "etc/config.yml"]);
  const parsed = await loadConfig(
    args,
    (name) => name === "DISTCACHE_PEER_TOKEN" ? "from-secret" : undefined,
  );
  assert.ok(parsed !== "help");
  assert.equal(parsed.host, "10.1.2.3");
  assert.equal(parsed.database.url, "mysql://u:p@db:3306/distcache");
  assert.equal(parsed.peers.token, "from-secret");

  const configMap = objects.find((o) => o.kind === "ConfigMap")!;
  assert.equal(configMap.data["config.yml"], configText);
  assert.equal(
    pod.spec.volumes.find((v: Obj) => v.name === "config").configMap.name,
    configMap.metadata.name,
  );
});

Deno.test("ports, Services, probes and scrape annotations agree with the node's configuration", async () => {
  const ports = Object.fromEntries(container.ports.map((p: Obj) => [p.name, p.containerPort]));
  assert.deepEqual(ports, { http: config.httpPort, grpc: config.grpcPort });
  for (const name of ["distcache", "distcache-peers"]) {
    const svc = find("Service", name);
    assert.deepEqual(svc.spec.selector, nodes.spec.selector.matchLabels);
    assert.deepEqual(
      svc.spec.ports.map((p: Obj) => [p.name, p.port, p.targetPort]),
      [["http", config.httpPort, "http"], ["grpc", config.grpcPort, "grpc"]],
    );
  }
  assert.equal(find("Service", "distcache-peers").spec.clusterIP, "None");
  assert.equal(nodes.spec.serviceName, "distcache-peers");
  assert.deepEqual(container.readinessProbe.httpGet, { path: "/readyz", port: "http" });
  assert.deepEqual(container.livenessProbe.httpGet, { path: "/healthz", port: "http" });
  const annotations = pod.metadata.annotations;
  assert.equal(annotations["prometheus.io/scrape"], "true");
  assert.equal(annotations["prometheus.io/port"], String(config.httpPort));
  assert.equal(annotations["prometheus.io/path"], "/metrics");

  // The probe and scrape paths answer 200 on a real node.
  const node = await startNodeProcess();
  try {
    for (const path of ["/readyz", "/healthz", "/metrics"]) {
      const res = await fetch(`${node.http}${path}`);
      await res.body?.cancel();
      assert.equal(res.status, 200, path);
    }
  } finally {
    await node.stop();
  }
});

Deno.test("grace period, memory and disruption budget follow from the configuration", () => {
  assert.ok(
    pod.spec.terminationGracePeriodSeconds * 1000 > config.shutdownTimeoutMs,
    `terminationGracePeriodSeconds ${pod.spec.terminationGracePeriodSeconds} s is not above ` +
      `server.shutdown_timeout_ms ${config.shutdownTimeoutMs} ms`,
  );
  const cacheBytes = config.groups.reduce((sum, g) => sum + g.cacheBytes, 0);
  const want = nodeMemoryMiB(cacheBytes);
  assert.equal(mebibytes(container.resources.requests.memory), want.request);
  assert.equal(mebibytes(container.resources.limits.memory), want.limit);
  for (
    const [name, selector] of [
      ["distcache", nodes.spec.selector.matchLabels],
      ["distcache-etcd", find("StatefulSet", "distcache-etcd").spec.selector.matchLabels],
    ]
  ) {
    const pdb = find("PodDisruptionBudget", name);
    assert.equal(pdb.spec.maxUnavailable, 1);
    assert.deepEqual(pdb.spec.selector.matchLabels, selector);
  }
});

Deno.test("README and the manifest's comment give the memory rule docs/OPERATIONS.md gives", () => {
  for (const path of ["README.md", "deploy/k8s/statefulset.yaml"]) {
    assert.deepEqual(
      sizingIn(path),
      SIZING_RULE,
      `${path} disagrees with docs/OPERATIONS.md on memory sizing`,
    );
  }
});

Deno.test("the nodes' etcd endpoints name the members of the etcd StatefulSet", () => {
  const etcd = find("StatefulSet", "distcache-etcd");
  const service = find("Service", "distcache-etcd");
  assert.equal(etcd.spec.serviceName, service.metadata.name);
  const client = service.spec.ports.find((p: Obj) => p.name === "client").port;
  assert.deepEqual(
    config.etcd.endpoints,
    Array.from({ length: etcd.spec.replicas }, (_, i) => `distcache-etcd-${i}.distcache-etcd:${client}`),
  );
  const cluster = (etcd.spec.template.spec.containers[0].command as string[])
    .find((a) => a.startsWith("--initial-cluster="))!;
  for (let i = 0; i < etcd.spec.replicas; i++) {
    assert.match(cluster, new RegExp(`distcache-etcd-${i}=http://distcache-etcd-${i}\\.distcache-etcd:2380`));
  }
});
