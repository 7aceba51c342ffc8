"""A classic grpcio SimpleTest server, for interop tests.

usage: simple_test_server.py [PORT]

Listens on 127.0.0.1:PORT (default 0: any free port), prints the bound port as
its first line on stdout, and stops on SIGTERM or SIGINT, exiting with 0.

Needs the stubs protoc generates from proto/simpletest/simple_test.proto on
PYTHONPATH.
"""

import argparse
import signal
import threading
from concurrent import futures

import grpc

from simpletest import simple_test_pb2 as pb
from simpletest import simple_test_pb2_grpc as pb_grpc

GRACE_S = 2


class SimpleTest(pb_grpc.SimpleTestServicer):
    def GetOne(self, request, context):
        return pb.ResponseOne(result="Hello !! " + request.hello)

    def GetList(self, request, context):
        for i in range(5):
            yield pb.ResponseList(resultlist=f"test{i}")

    def PostList(self, request_iterator, context):
        for _ in request_iterator:
            pass
        return pb.ResponseOne(result="PostList OK")

    def PostAndPost(self, request_iterator, context):
        for request in request_iterator:
            yield pb.ResponseList(resultlist="Hello !! " + request.namelist)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int, nargs="?", default=0)
    args = parser.parse_args()

    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    pb_grpc.add_SimpleTestServicer_to_server(SimpleTest(), server)
    port = server.add_insecure_port(f"127.0.0.1:{args.port}")
    server.start()
    print(port, flush=True)

    stopping.wait()
    server.stop(GRACE_S).wait()


if __name__ == "__main__":
    main()
