import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { LOADER_OPTIONS, serviceClient } from "../../src/server/proto.ts";
import { addReflection } from "../../src/server/reflection.ts";
import descriptor from "protobufjs/ext/descriptor";
import { bindLoopback } from "../_grpc_server.ts";

const LATER_PROTO = `syntax = "proto3";
package later;
import "google/protobuf/timestamp.proto";
message Ping { google.protobuf.Timestamp at = 1; map<string, int64> counts = 2; repeated string notes = 3; }
service Extra { rpc Echo(Ping) returns (Ping); }
`;

type Answer = Record<string, unknown>;

/** Sends each request on one reflection stream and collects the answers. */
function ask(address: string, requests: Answer[]): Promise<Answer[]> {
  const Client = serviceClient("reflection.proto", "grpc.reflection.v1.ServerReflection");
  const client = new Client(address, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    const answers: Answer[] = [];
    const call = (client as unknown as { ServerReflectionInfo(): grpc.ClientDuplexStream<Answer, Answer> })
      .ServerReflectionInfo();
    call.on("data", (a: Answer) => answers.push(a));
    call.on("end", () => {
      client.close();
      resolve(answers);
    });
    call.on("error", (e) => {
      client.close();
      reject(e);
    });
    for (const r of requests) call.write(r);
    call.end();
  });
}

function listed(answer: Answer): string[] {
  return (answer.list_services_response as { service: { name: string }[] }).service.map((s) => s.name);
}

Deno.test("reflection lists the services added after it, and drops a removed one", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/later.proto`, LATER_PROTO);
  const server = new grpc.Server();
  try {
    addReflection(server, dir);
    const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(`${dir}/later.proto`, LOADER_OPTIONS));
    const extra = ((pkg.later as grpc.GrpcObject).Extra as grpc.ServiceClientConstructor).service;
    server.addService(extra, {
      Echo: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) =>
        cb(null, call.request),
    });
    const port = await bindLoopback(server);
    const address = `127.0.0.1:${port}`;
    const [list, bySymbol] = await ask(address, [
      { list_services: "" },
      { file_containing_symbol: "later.Extra.Echo" },
    ]);
    assert.deepEqual(listed(list), [
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "later.Extra",
    ]);
    const files = (bySymbol.file_descriptor_response as { file_descriptor_proto: Uint8Array[] })
      .file_descriptor_proto;
    assert.equal(files.length, 2, "later.proto and the timestamp it imports");
    // A map, a repeated field and an import, described as protoc describes them.
    const set = `${dir}/protoc.binpb`;
    const protoc = await new Deno.Command("/usr/bin/python3", {
      args: [
        "-m",
        "grpc_tools.protoc",
        `-I${dir}`,
        `--descriptor_set_out=${set}`,
        "later.proto",
      ],
      stderr: "piped",
    }).output();
    assert.equal(protoc.code, 0, new TextDecoder().decode(protoc.stderr));
    const decodedSet = descriptor.FileDescriptorSet.decode(await Deno.readFile(set));
    const reference = descriptor.FileDescriptorSet.toObject(decodedSet).file[0];
    const served = descriptor.FileDescriptorProto.toObject(descriptor.FileDescriptorProto.decode(files[0]));
    assert.deepEqual(served, reference);

    server.removeService(extra);
    const [after] = await ask(address, [{ list_services: "" }]);
    assert.deepEqual(listed(after), [
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
    ]);
  } finally {
    server.forceShutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a reflection stream left open by its client is ended when the server shuts down", async () => {
  const server = new grpc.Server();
  const reflection = addReflection(server);
  const port = await bindLoopback(server);
  const Client = serviceClient("reflection.proto", "grpc.reflection.v1.ServerReflection");
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    const call = (client as unknown as { ServerReflectionInfo(): grpc.ClientDuplexStream<Answer, Answer> })
      .ServerReflectionInfo();
    const ended = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
    call.on("error", () => {});
    // The client asks once and never half-closes, as a tool left connected does.
    const first = new Promise<Answer>((resolve) => call.once("data", resolve));
    call.write({ list_services: "" });
    assert.ok("list_services_response" in await first);
    reflection.endStreams();
    const shutDown = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("the open stream was not ended within 5 s")), 5000);
    });
    try {
      assert.equal((await Promise.race([ended, late])).code, grpc.status.OK);
      await Promise.race([shutDown, late]);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    client.close();
    server.forceShutdown();
  }
});
