import assert from "node:assert/strict";
import { decodeMember, encodeMember, memberKey } from "../../src/discovery/member_value.ts";

Deno.test("member value uses the etcd endpoints-manager format", () => {
  const self = { http: "http://127.0.0.1:2222", grpc: "127.0.0.1:9999" };
  assert.equal(memberKey(self.grpc), "GroupCache/127.0.0.1:9999");
  assert.equal(
    encodeMember(self),
    '{"Op":0,"Addr":"127.0.0.1:9999","Metadata":{"http":"http://127.0.0.1:2222"}}',
  );
  assert.deepEqual(decodeMember(encodeMember(self)), self);
});

Deno.test("member value decoding names what is wrong", async (t) => {
  const cases: [string, RegExp][] = [
    ["not json", /not JSON/],
    ["[1]", /Op is undefined/],
    ['{"Op":1,"Addr":"a:1","Metadata":{"http":"http://a:2"}}', /Op is 1, expected 0/],
    ['{"Op":0,"Addr":"a","Metadata":{"http":"http://a:2"}}', /Addr/],
    ['{"Op":0,"Addr":"a:1"}', /Metadata.http is missing/],
    ['{"Op":0,"Addr":"a:1","Metadata":{"http":"ftp://a:2"}}', /not an http/],
  ];
  for (const [value, problem] of cases) {
    await t.step(value, () => assert.match(decodeMember(value) as string, problem));
  }
});
