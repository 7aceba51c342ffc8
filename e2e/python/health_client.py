"""A grpcio client of grpc.health.v1.Health.

usage: health_client.py HOST:PORT check SERVICE...
       health_client.py HOST:PORT watch SERVICE

check prints one JSON line per service: {"service": ..., "status": NAME} or,
when the call fails, {"service": ..., "code": NAME}.
watch prints {"status": NAME} for each message as it arrives, then
{"end": "OK"} or {"end": CODE} when the call ends (after 30 s at the latest).

Needs health_pb2 and health_pb2_grpc on PYTHONPATH, made by protoc from
Debian's /usr/share/grpc-proto/grpc/health/v1/health.proto.
"""

import json
import sys

import grpc

import health_pb2 as pb
import health_pb2_grpc as pb_grpc

CHECK_TIMEOUT_S = 10
WATCH_TIMEOUT_S = 30


def emit(**fields):
    print(json.dumps(fields), flush=True)


def status_name(response):
    return pb.HealthCheckResponse.ServingStatus.Name(response.status)


def main():
    target, command, *services = sys.argv[1:]
    with grpc.insecure_channel(target) as channel:
        stub = pb_grpc.HealthStub(channel)
        if command == "check":
            for service in services:
                try:
                    response = stub.Check(pb.HealthCheckRequest(service=service), timeout=CHECK_TIMEOUT_S)
                    emit(service=service, status=status_name(response))
                except grpc.RpcError as e:
                    emit(service=service, code=e.code().name)
        elif command == "watch":
            try:
                for response in stub.Watch(pb.HealthCheckRequest(service=services[0]), timeout=WATCH_TIMEOUT_S):
                    emit(status=status_name(response))
                emit(end="OK")
            except grpc.RpcError as e:
                emit(end=e.code().name)
        else:
            raise SystemExit(f"unknown command {command!r}: check or watch")


if __name__ == "__main__":
    main()
