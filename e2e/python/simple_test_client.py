"""A classic grpcio SimpleTest client, for interop tests.

usage: simple_test_client.py HOST:PORT [--unknown PATH]

Calls GetOne, GetList, PostList (with names, then empty) and PostAndPost
(ping-pong), printing one JSON line per message received. With --unknown it
calls PATH, a method the contract lacks, instead. On the first failed call it
prints the method and its gRPC status as a JSON line and exits with 1.

Needs the stubs protoc generates from proto/simpletest/simple_test.proto on
PYTHONPATH.
"""

import argparse
import contextlib
import json
import queue
import sys

import grpc

from simpletest import simple_test_pb2 as pb
from simpletest import simple_test_pb2_grpc as pb_grpc

TIMEOUT_S = 10


def emit(method, **fields):
    print(json.dumps({"method": method, **fields}), flush=True)


@contextlib.contextmanager
def exit_on_error(method):
    try:
        yield
    except grpc.RpcError as error:
        emit(method, code=error.code().name, details=error.details())
        sys.exit(1)


def call_contract(stub):
    with exit_on_error("GetOne"):
        for hello in ["world", "", "héllo ✓ 世界"]:
            emit("GetOne", result=stub.GetOne(pb.RequestOne(hello=hello), timeout=TIMEOUT_S).result)

    with exit_on_error("GetList"):
        for response in stub.GetList(pb.RequestOne(hello="x"), timeout=TIMEOUT_S):
            emit("GetList", resultlist=response.resultlist)

    with exit_on_error("PostList"):
        for names in [["a", "b", "c"], []]:
            requests = (pb.RequestList(namelist=name) for name in names)
            emit("PostList", result=stub.PostList(requests, timeout=TIMEOUT_S).result)

    with exit_on_error("PostAndPost"):
        post_and_post_ping_pong(stub, ["alice", "bob", "carol", ""])


def post_and_post_ping_pong(stub, names):
    # grpcio pulls requests from the generator on its own thread; the queue lets
    # this thread send each name only after the answer to the previous one.
    outbox = queue.Queue()

    def requests():
        while (name := outbox.get()) is not None:
            yield pb.RequestList(namelist=name)

    responses = stub.PostAndPost(requests(), timeout=TIMEOUT_S)
    try:
        for name in names:
            outbox.put(name)
            answer = next(responses, None)
            if answer is None:
                sys.exit(f"PostAndPost ended without answering {name!r}")
            emit("PostAndPost", resultlist=answer.resultlist)
    finally:
        outbox.put(None)
    for response in responses:
        emit("PostAndPost", resultlist=response.resultlist)


def call_unknown(channel, path):
    call = channel.unary_unary(
        path,
        request_serializer=pb.RequestOne.SerializeToString,
        response_deserializer=pb.ResponseOne.FromString,
    )
    with exit_on_error(path):
        emit(path, result=call(pb.RequestOne(hello="x"), timeout=TIMEOUT_S).result)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("target", help="host:port of a SimpleTest gRPC server (cleartext HTTP/2)")
    parser.add_argument("--unknown", metavar="PATH", help="call only this method, e.g. /simpletest.SimpleTest/Nope")
    args = parser.parse_args()
    with grpc.insecure_channel(args.target) as channel:
        if args.unknown:
            call_unknown(channel, args.unknown)
        else:
            call_contract(pb_grpc.SimpleTestStub(channel))


if __name__ == "__main__":
    main()
