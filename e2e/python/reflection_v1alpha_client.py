"""A grpcio client of grpc.reflection.v1alpha, the only version grpcurl 1.8 speaks.

usage: reflection_v1alpha_client.py HOST:PORT QUESTION...

Each QUESTION is KIND=VALUE, asked in order on one stream:
  list_services=                      file_by_filename=NAME
  file_containing_symbol=SYMBOL       all_extension_numbers_of_type=TYPE
  file_containing_extension=TYPE:NUMBER

Prints one JSON line per answer: {"services": [...]}, {"error": CODE,
"message": ...}, {"base_type_name": ..., "extension_numbers": [...]}, or for
files {"files": [names, in order], "methods": {service: [methods]}}, where
"methods" lists the services of the first file as protobuf's own descriptor
pool builds them from the files sent, which fails if any dependency is missing.

Needs reflection_pb2 and reflection_pb2_grpc on PYTHONPATH, made by protoc from
Debian's /usr/share/grpc-proto/grpc/reflection/v1alpha/reflection.proto.
"""

import json
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool

import reflection_pb2 as pb
import reflection_pb2_grpc as pb_grpc

TIMEOUT_S = 10


def question(text):
    kind, _, value = text.partition("=")
    if kind == "file_containing_extension":
        containing_type, _, number = value.rpartition(":")
        value = pb.ExtensionRequest(containing_type=containing_type, extension_number=int(number))
    return pb.ServerReflectionRequest(**{kind: value})


def methods_of_first(files):
    """Loads the files into a fresh pool, each after its dependencies."""
    pool = descriptor_pool.DescriptorPool()
    loaded, pending = set(), list(files)
    while pending:
        ready = [f for f in pending if all(d in loaded for d in f.dependency)]
        if not ready:
            raise SystemExit(f"files sent without their dependencies: {[f.name for f in pending]}")
        for f in ready:
            pool.Add(f)
            loaded.add(f.name)
            pending.remove(f)
    first = files[0]
    prefix = f"{first.package}." if first.package else ""
    return {
        prefix + s.name: [m.name for m in pool.FindServiceByName(prefix + s.name).methods] for s in first.service
    }


def describe(answer):
    kind = answer.WhichOneof("message_response")
    if kind == "list_services_response":
        return {"services": [s.name for s in answer.list_services_response.service]}
    if kind == "error_response":
        return {"error": answer.error_response.error_code, "message": answer.error_response.error_message}
    if kind == "all_extension_numbers_response":
        numbers = answer.all_extension_numbers_response
        return {"base_type_name": numbers.base_type_name, "extension_numbers": list(numbers.extension_number)}
    files = [
        descriptor_pb2.FileDescriptorProto.FromString(b) for b in answer.file_descriptor_response.file_descriptor_proto
    ]
    return {"files": [f.name for f in files], "methods": methods_of_first(files)}


def main():
    target, *questions = sys.argv[1:]
    with grpc.insecure_channel(target) as channel:
        stub = pb_grpc.ServerReflectionStub(channel)
        answers = stub.ServerReflectionInfo(iter([question(q) for q in questions]), timeout=TIMEOUT_S)
        for answer in answers:
            print(json.dumps(describe(answer)), flush=True)


if __name__ == "__main__":
    main()
