import assert from "node:assert/strict";
import { ConsistentHash } from "../../src/cache/consistent_hash.ts";
import { metricValue } from "../_node.ts";
import { freePort } from "../_process.ts";
import { startNodeProcess } from "../_node.ts";

/** A DNS name in the test certificate besides 127.0.0.1, which the gRPC client checks. */
const NAME = "node.distcache.test";

const PROTO = new URL("../../proto/", import.meta.url).pathname;

async function python(args: string[]): Promise<string> {
  const out = await new Deno.Command("/usr/bin/python3", { args, stdout: "piped", stderr: "piped" }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

async function openssl(dir: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
}

/** A CA and a certificate for 127.0.0.1 signed by it, made fresh for the test. */
async function makeCertificates(dir: string): Promise<void> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl(dir, [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=distcache test CA",
  ]);
  await openssl(dir, ["req", ...ec, "-keyout", "node.key", "-out", "node.csr", "-subj", "/CN=127.0.0.1"]);
  await Deno.writeTextFile(`${dir}/ext`, `subjectAltName=IP:127.0.0.1,DNS:${NAME}\n`);
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    "node.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "node.pem",
    "-days",
    "2",
    "-extfile",
    "ext",
  ]);
}

/** A second CA and a client certificate it signed: someone the nodes' CA never vouched for. */
async function makeStranger(dir: string): Promise<void> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl(dir, [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "other-ca.key",
    "-out",
    "other-ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=other CA",
  ]);
  await openssl(dir, [
    "req",
    ...ec,
    "-keyout",
    "stranger.key",
    "-out",
    "stranger.csr",
    "-subj",
    "/CN=stranger",
  ]);
  await Deno.writeTextFile(`${dir}/client-ext`, "extendedKeyUsage=clientAuth\n");
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    "stranger.csr",
    "-CA",
    "other-ca.pem",
    "-CAkey",
    "other-ca.key",
    "-CAcreateserial",
    "-out",
    "stranger.pem",
    "-days",
    "2",
    "-extfile",
    "client-ext",
  ]);
}

/** Runs the gRPC health check from Python, once per credential, printing a status name per line. */
const HEALTH_SCRIPT = (name: string) => `
import sys, grpc
sys.path.insert(0, sys.argv[1])
import health_pb2, health_pb2_grpc
read = lambda f: open(f, "rb").read()
ca = read(sys.argv[3])
opts = [("grpc.ssl_target_name_override", "${name}")]
def check(channel):
    try:
        return health_pb2.HealthCheckResponse.ServingStatus.Name(
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5).status)
    except grpc.RpcError as e:
        return e.code().name
for pair in sys.argv[4:]:
    if pair == "none":
        creds = grpc.ssl_channel_credentials(root_certificates=ca)
    else:
        cert, key = pair.split(",")
        creds = grpc.ssl_channel_credentials(root_certificates=ca, private_key=read(key), certificate_chain=read(cert))
    print(check(grpc.secure_channel(sys.argv[2], creds, opts)))
`;

// Without tls.client_ca_file the servers do not ask clients for a certificate: what is checked here is
// that each side verifies the server it talks to. The next test turns mutual TLS on.
Deno.test("nodes with certificates serve HTTP and gRPC over TLS, a node verifies its peer's certificate, clients that do not trust the CA refuse the node", async () => {
  const dir = await Deno.makeTempDir();
  await makeCertificates(dir);
  await Deno.writeTextFile(
    `${dir}/config.yml`,
    `tls:\n  cert_file: ${dir}/node.pem\n  key_file: ${dir}/node.key\n  ca_file: ${dir}/ca.pem\n`,
  );
  const ports = [freePort(), freePort()];
  const urls = ports.map((p) => `https://127.0.0.1:${p}`);
  const db = `sqlite:${dir}/cnf.db`;
  const nodes = await Promise.all(ports.map((p, i) =>
    startNodeProcess({
      httpPort: p,
      db,
      peers: [urls[1 - i]],
      args: ["--config", `${dir}/config.yml`],
      scheme: "https",
      caFile: `${dir}/ca.pem`,
    })
  ));
  const ca = await Deno.readTextFile(`${dir}/ca.pem`);
  const trusting = Deno.createHttpClient({ caCerts: [ca] });
  try {
    const ring = new ConsistentHash();
    ring.add(...urls);
    const remote = Array.from({ length: 50 }, (_, i) => `CNF-${String(i + 1).padStart(3, "0")}`)
      .find((k) => ring.get(k) === urls[1])!;
    const res = await fetch(`${urls[0]}/_cache/metrics/${remote}`, { client: trusting });
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(await res.text()).cnf_id, remote);
    assert.equal(
      await metricValue(urls[0], "distcache_group_peer_loads_total", { group: "metrics" }, trusting),
      1,
      "the key was fetched from its owner over TLS",
    );

    await assert.rejects(
      fetch(`${urls[0]}/healthz`),
      (e: Error) => {
        // The handshake fails on the certificate, not on a dead node (which would be "Connection refused").
        assert.match(String(e.cause ?? e.message), /invalid peer certificate: UnknownIssuer/);
        return true;
      },
      "a client without the CA refuses the node's certificate",
    );

    // grpc-js cannot open TLS channels under Deno, so the TLS gRPC server is checked by Python's grpcio.
    const script = `
import sys, grpc
sys.path.insert(0, sys.argv[1])
import health_pb2, health_pb2_grpc
ca = open(sys.argv[3], "rb").read()
opts = [("grpc.ssl_target_name_override", "${NAME}")]
def check(channel):
    try:
        return health_pb2.HealthCheckResponse.ServingStatus.Name(
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5).status)
    except grpc.RpcError as e:
        return e.code().name
print(check(grpc.secure_channel(sys.argv[2], grpc.ssl_channel_credentials(root_certificates=ca), opts)))
print(check(grpc.insecure_channel(sys.argv[2])))
print(check(grpc.secure_channel(sys.argv[2], grpc.ssl_channel_credentials(), opts)))
`;
    await python([
      "-m",
      "grpc_tools.protoc",
      `-I${PROTO}`,
      `--python_out=${dir}`,
      `--grpc_python_out=${dir}`,
      `${PROTO}health.proto`,
    ]);
    const lines = (await python(["-c", script, dir, nodes[0].grpc, `${dir}/ca.pem`])).trim().split("\n");
    assert.deepEqual(
      lines,
      ["SERVING", "UNAVAILABLE", "UNAVAILABLE"],
      "with the CA, plain text, without the CA",
    );
  } finally {
    trusting.close();
    await Promise.all(nodes.map((n) => n.stop()));
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("with tls.client_ca_file, nodes require client certificates: peers present theirs, a stranger's or none is refused", async () => {
  const dir = await Deno.makeTempDir();
  await makeCertificates(dir);
  await makeStranger(dir);
  await Deno.writeTextFile(
    `${dir}/config.yml`,
    `tls:\n  cert_file: ${dir}/node.pem\n  key_file: ${dir}/node.key\n  ca_file: ${dir}/ca.pem\n` +
      `  client_ca_file: ${dir}/ca.pem\n`,
  );
  const ports = [freePort(), freePort()];
  const urls = ports.map((p) => `https://127.0.0.1:${p}`);
  const clientCert = { certFile: `${dir}/node.pem`, keyFile: `${dir}/node.key` };
  const nodes = await Promise.all(ports.map((p, i) =>
    startNodeProcess({
      httpPort: p,
      db: `sqlite:${dir}/cnf.db`,
      peers: [urls[1 - i]],
      args: ["--config", `${dir}/config.yml`, "--peer-token", "mtls-token"],
      scheme: "https",
      caFile: `${dir}/ca.pem`,
      clientCert,
    })
  ));
  const read = (f: string) => Deno.readTextFile(`${dir}/${f}`);
  const ca = await read("ca.pem");
  const member = Deno.createHttpClient({
    caCerts: [ca],
    cert: await read("node.pem"),
    key: await read("node.key"),
  });
  const stranger = Deno.createHttpClient({
    caCerts: [ca],
    cert: await read("stranger.pem"),
    key: await read("stranger.key"),
  });
  const anonymous = Deno.createHttpClient({ caCerts: [ca] });
  try {
    const ring = new ConsistentHash();
    ring.add(...urls);
    const remote = Array.from({ length: 50 }, (_, i) => `CNF-${String(i + 1).padStart(3, "0")}`)
      .find((k) => ring.get(k) === urls[1])!;
    const res = await fetch(`${urls[0]}/_cache/metrics/${remote}`, { client: member });
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(await res.text()).cnf_id, remote);
    assert.equal(
      await metricValue(urls[0], "distcache_group_peer_loads_total", { group: "metrics" }, member),
      1,
      "the node fetched the key from its owner, presenting its certificate",
    );

    // Refused in the TLS handshake: the server's alert reaches the client, or (TLS 1.3 ends the handshake
    // on the client's side first) the connection closes under it. Not "Connection refused": the node
    // answers a member right after.
    const refused = (alert: string) => (e: Error) => {
      assert.match(
        String(e.cause ?? e.message),
        new RegExp(`received fatal alert: ${alert}|peer closed connection without sending TLS close_notify`),
      );
      return true;
    };
    await assert.rejects(
      fetch(`${urls[0]}/healthz`, { client: anonymous }),
      refused("CertificateRequired"),
      "a client without a certificate is refused in the handshake",
    );
    await assert.rejects(
      fetch(`${urls[0]}/healthz`, { client: stranger }),
      refused("(UnknownCA|BadCertificate|DecryptError)"),
      "a client whose certificate another CA signed is refused in the handshake",
    );
    // A write, forwarded to its owner when node 0 does not own it: the body crosses both servers whole.
    const body = "v".repeat(100_000);
    const put = await fetch(`${urls[0]}/_cache/metrics/mtls-key`, {
      method: "PUT",
      body,
      headers: { authorization: "Bearer mtls-token" },
      client: member,
    });
    assert.equal(put.status, 204, await put.text());
    const got = await fetch(`${urls[1]}/_cache/metrics/mtls-key`, { client: member });
    assert.equal(await got.text(), body);

    const after = await fetch(`${urls[0]}/healthz`, { client: member });
    assert.equal(after.status, 200, "the refusals were the node's choice: it still answers a member");
    await after.body?.cancel();

    await python([
      "-m",
      "grpc_tools.protoc",
      `-I${PROTO}`,
      `--python_out=${dir}`,
      `--grpc_python_out=${dir}`,
      `${PROTO}health.proto`,
    ]);
    const lines = (await python([
      "-c",
      HEALTH_SCRIPT(NAME),
      dir,
      nodes[0].grpc,
      `${dir}/ca.pem`,
      `${dir}/node.pem,${dir}/node.key`,
      "none",
      `${dir}/stranger.pem,${dir}/stranger.key`,
    ])).trim().split("\n");
    assert.deepEqual(
      lines,
      ["SERVING", "UNAVAILABLE", "UNAVAILABLE"],
      "gRPC: a member, no certificate, a stranger",
    );
  } finally {
    for (const c of [member, stranger, anonymous]) c.close();
    const codes = await Promise.all(nodes.map((n) => n.stop()));
    const logs = nodes.map((n) => n.log()).join("\n");
    assert.deepEqual(codes, [0, 0], `a clean shutdown:\n${logs}`);
    assert.doesNotMatch(logs, /did not finish in time/, "the HTTPS server closed its connections at once");
    await Deno.remove(dir, { recursive: true });
  }
});
