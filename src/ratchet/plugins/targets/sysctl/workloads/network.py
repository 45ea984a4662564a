"""Loopback network workload: a TCP echo server on 127.0.0.1 and a client that opens
connections and sends messages through them for ``--seconds``; prints
``operations_per_second: X`` (one operation is one message echoed back). Socket buffer
limits, the listen backlog and slow start after idle change how fast this runs.

    python -m ratchet.plugins.targets.sysctl.workloads.network --seconds 8
"""

from __future__ import annotations

import argparse
import socket
import socketserver
import sys
import threading
import time


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while True:
            data = self.request.recv(1 << 16)
            if not data:
                return
            self.request.sendall(data)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def _round_trip(sock: socket.socket, message: bytes) -> None:
    sock.sendall(message)
    remaining = len(message)
    while remaining:
        chunk = sock.recv(min(remaining, 1 << 16))
        if not chunk:
            raise ConnectionError("the echo server closed the connection")
        remaining -= len(chunk)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--message-kb", type=int, default=64)
    parser.add_argument("--messages-per-connection", type=int, default=50)
    args = parser.parse_args(argv)
    message = b"x" * (args.message_kb << 10)
    with _Server(("127.0.0.1", 0), _Echo) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        done = 0
        start = time.perf_counter()
        while time.perf_counter() - start < args.seconds:
            with socket.create_connection(server.server_address) as sock:
                for _ in range(args.messages_per_connection):
                    _round_trip(sock, message)
                    done += 1
        elapsed = time.perf_counter() - start
        server.shutdown()
    print(f"operations_per_second: {done / elapsed:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
