"""A reflection client that is not grpc-js and has no .proto file: it asks a node for its services and
their descriptors with hand-encoded grpc.reflection messages, then calls methods through message classes
built from those descriptors alone. Prints JSON.

usage: reflection_client.py <host:port> <protoc descriptor set>
"""
import json
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

target, protoc_set = sys.argv[1], sys.argv[2]


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(number, payload):
    """A length-delimited field (wire type 2)."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def decode(buf):
    """The fields of one message as (number, value) pairs; value is bytes or an int."""
    out, i = [], 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = read_varint(buf, i)
        elif wire == 2:
            size, i = read_varint(buf, i)
            value, i = buf[i:i + size], i + size
        else:
            raise ValueError("unexpected wire type %d" % wire)
        out.append((number, value))
    return out


def read_varint(buf, i):
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, i


def ask(version, requests):
    """Sends every request on one stream; returns the decoded responses."""
    method = "/grpc.reflection.%s.ServerReflection/ServerReflectionInfo" % version
    call = channel.stream_stream(method)
    return [decode(r) for r in call(iter(requests), timeout=10)]


def one(fields, number):
    return [v for n, v in fields if n == number]


def services(response):
    return [one(decode(s), 1)[0].decode() for s in one(decode(one(response, 6)[0]), 1)]


def files(response):
    """The FileDescriptorProtos of a file_descriptor_response, or the error code."""
    if one(response, 7):
        return {"error": one(decode(one(response, 7)[0]), 1)[0]}
    out = []
    for raw in one(decode(one(response, 4)[0]), 1):
        fd = descriptor_pb2.FileDescriptorProto()
        fd.ParseFromString(raw)
        out.append(fd)
    return out


out = {}
with grpc.insecure_channel(target) as channel:
    try:
        listed = ask("v1", [field(7, b"")])
    except grpc.RpcError as e:
        print(json.dumps({"error": e.code().name}))
        sys.exit(0)
    out["v1_services"] = services(listed[0])
    out["v1alpha_services"] = services(ask("v1alpha", [field(7, b"")])[0])
    answers = ask("v1", [
        field(4, b"cnfmetricspb.CnfMetricsService"),
        field(3, b"groupcache.proto"),
        field(4, b"groupcachepb.GetRequest.key"),
        field(3, b"google/protobuf/timestamp.proto"),
        field(4, b"no.such.Symbol"),
        field(3, b"no/such.proto"),
        field(4, b"grpc.health.v1.Health.Check"),
        b"",  # asks nothing
        b"\x7f",  # field 15 with wire type 7, which does not exist: does not decode
        field(7, b""),  # the stream still answers after those
    ])
    out["asks_nothing"] = files(answers[7])
    out["undecodable"] = files(answers[8])
    out["listed_after_errors"] = len(services(answers[9]))
    by_symbol, by_name, by_field, timestamp, no_symbol, no_file, health = [files(a) for a in answers[:7]]
    out["by_symbol"] = [f.name for f in by_symbol]
    out["by_filename"] = [f.name for f in by_name]
    out["by_field"] = [f.name for f in by_field]
    out["timestamp_again"] = [f.name for f in timestamp]
    out["unknown_symbol"] = no_symbol
    out["unknown_file"] = no_file
    out["health"] = [f.name for f in health]
    out["dependencies"] = {f.name: list(f.dependency) for f in by_symbol + by_name + health}

    # Compare with what protoc makes of the same files.
    reference = descriptor_pb2.FileDescriptorSet()
    with open(protoc_set, "rb") as fh:
        reference.ParseFromString(fh.read())
    served = {}
    for answer in ask("v1", [field(3, ref.name.encode()) for ref in reference.file]):
        served.update({f.name: f for f in files(answer)})
    out["differs_from_protoc"] = []
    for ref in reference.file:
        if ref.name in served:
            ref.ClearField("source_code_info")
            if ref.name.startswith("google/protobuf/"):
                # The node's copy of a well-known type has no code-generator options (java_package ...):
                # they differ between protobuf releases and steer only generated code.
                ref.ClearField("options")
            if ref.SerializeToString(deterministic=True) != served[ref.name].SerializeToString(deterministic=True):
                out["differs_from_protoc"].append({"file": ref.name, "protoc": str(ref),
                                                   "served": str(served[ref.name])})
    out["compared"] = sorted(set(served) & {f.name for f in reference.file})

    # Call methods through classes built only from the served descriptors (dependencies first).
    pool = descriptor_pool.DescriptorPool()
    for fd in list(reversed(by_symbol)) + by_name:
        pool.Add(fd)
    factory = message_factory.MessageFactory(pool)

    def cls(name):
        return factory.GetPrototype(pool.FindMessageTypeByName(name))

    def call(method, request, response):
        stub = channel.unary_unary(method, request_serializer=lambda m: m.SerializeToString(),
                                   response_deserializer=cls(response).FromString)
        return stub(request, timeout=10)

    get = call("/groupcachepb.GroupCache/Get", cls("groupcachepb.GetRequest")(group="metrics", key="CNF-001"),
               "groupcachepb.GetResponse")
    out["get"] = json.loads(get.value.decode())
    shown = call("/cnfmetricspb.CnfMetricsService/ShowCnfMetric",
                 cls("cnfmetricspb.CnfMetricRequest")(cnf_id="CNF-003"), "cnfmetricspb.CnfMetricResponse")
    out["show"] = {"cnf_id": shown.metric.cnf_id, "metric_type": shown.metric.metric_type,
                   "timestamp_seconds": shown.metric.timestamp.seconds}
print(json.dumps(out))
