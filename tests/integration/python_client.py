"""A gRPC client that is not grpc-js: calls a node with stubs generated from proto/ and prints JSON.

usage: python_client.py <stub dir> <host:port> <token>
"""
import json
import sys

sys.path.insert(0, sys.argv[1])
import grpc  # noqa: E402
import groupcache_pb2 as pb  # noqa: E402
import groupcache_pb2_grpc as pb_grpc  # noqa: E402
import health_pb2  # noqa: E402
import health_pb2_grpc  # noqa: E402

target, token = sys.argv[2], sys.argv[3]
auth = [("authorization", "Bearer " + token)]
out = {}
with grpc.insecure_channel(target) as channel:
    cache = pb_grpc.GroupCacheStub(channel)
    got = cache.Get(pb.GetRequest(group="metrics", key="CNF-001"), timeout=5)
    out["get"] = json.loads(got.value.decode())
    cache.Set(pb.SetRequest(group="metrics", key="py-key", value=b"\x00\x01py", ttl_ms=30000),
              metadata=auth, timeout=5)
    again = cache.Get(pb.GetRequest(group="metrics", key="py-key"), timeout=5)
    out["set_then_get"] = list(again.value)
    out["expire_unix_ms"] = again.expire_unix_ms
    cache.Delete(pb.DeleteRequest(group="metrics", key="py-key"), metadata=auth, timeout=5)
    try:
        cache.Get(pb.GetRequest(group="metrics", key="py-key"), timeout=5)
        out["after_delete"] = "found"
    except grpc.RpcError as e:
        out["after_delete"] = e.code().name
    try:
        cache.Set(pb.SetRequest(group="metrics", key="k", value=b"v"), timeout=5)
        out["set_without_token"] = "OK"
    except grpc.RpcError as e:
        out["set_without_token"] = e.code().name
    health = health_pb2_grpc.HealthStub(channel)
    out["health"] = health_pb2.HealthCheckResponse.ServingStatus.Name(
        health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5).status)
    out["health_groupcache"] = health_pb2.HealthCheckResponse.ServingStatus.Name(
        health.Check(health_pb2.HealthCheckRequest(service="groupcachepb.GroupCache"), timeout=5).status)
print(json.dumps(out))
