"""A grpcio client that provokes one error of the server, several times at once.

usage: error_codes_client.py HOST:PORT CASE REPEAT [MAX_MESSAGE_BYTES]

CASE is unknown_method, unknown_service, invalid_argument, resource_exhausted
(a request of MAX_MESSAGE_BYTES + 1), deadline_exceeded (GetList with a 250 ms
deadline; the server must pause between messages) or shutdown: PostAndPost
calls whose request stream stays open, each printing {"open": N} once its
first answer arrived, to be ended by the server's shutdown. Every call prints
{"code": N, "name": NAME} when it ends (0, OK, if it succeeded).

Messages are encoded by hand (field 1, a string), so no stubs are needed; the
bytes of invalid_argument are not UTF-8, which the server must refuse.
"""

import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import grpc

TIMEOUT_S = 10
lock = threading.Lock()


def emit(**fields):
    with lock:
        print(json.dumps(fields), flush=True)


def field1(data):
    """A message whose field 1 holds `data` (length-delimited)."""
    length, varint = len(data), bytearray()
    while length >= 0x80:
        varint.append(length & 0x7F | 0x80)
        length >>= 7
    varint.append(length)
    return b"\x0a" + bytes(varint) + data


def unary(channel, path, request, timeout=TIMEOUT_S):
    call = channel.unary_unary(path, request_serializer=bytes, response_deserializer=bytes)
    call(request, timeout=timeout)


def server_stream(channel, path, request, timeout=TIMEOUT_S, on_message=None):
    call = channel.unary_stream(path, request_serializer=bytes, response_deserializer=bytes)
    for i, _ in enumerate(call(request, timeout=timeout)):
        if i == 0 and on_message:
            on_message()


def bidi_left_open(channel, index):
    call = channel.stream_stream(
        "/simpletest.SimpleTest/PostAndPost", request_serializer=bytes, response_deserializer=bytes
    )
    done = threading.Event()

    def requests():
        yield field1(b"open")
        # The request stream stays open until the call has ended (grpcio reads this on its own thread).
        done.wait(60)

    try:
        for _ in call(requests(), timeout=60):
            emit(open=index)
    finally:
        done.set()


def one_call(channel, case, index, max_bytes):
    hello = field1(b"x")
    if case == "unknown_method":
        unary(channel, "/simpletest.SimpleTest/Nope", hello)
    elif case == "unknown_service":
        unary(channel, "/simpletest.Nope/GetOne", hello)
    elif case == "invalid_argument":
        unary(channel, "/simpletest.SimpleTest/GetOne", field1(b"\xc3\x28"))
    elif case == "resource_exhausted":
        unary(channel, "/simpletest.SimpleTest/GetOne", field1(b"x" * (max_bytes + 1)))
    elif case == "deadline_exceeded":
        server_stream(channel, "/simpletest.SimpleTest/GetList", hello, timeout=0.25)
    elif case == "shutdown":
        bidi_left_open(channel, index)
    else:
        sys.exit(f"unknown case {case}")


def main():
    target, case, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
    max_bytes = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    with grpc.insecure_channel(target) as channel:

        def run(index):
            try:
                one_call(channel, case, index, max_bytes)
                emit(code=0, name="OK")
            except grpc.RpcError as error:
                number, name = error.code().value
                emit(code=number, name=name.upper(), details=error.details())

        with ThreadPoolExecutor(max_workers=repeat) as pool:
            list(pool.map(run, range(repeat)))


if __name__ == "__main__":
    main()
