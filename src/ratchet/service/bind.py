"""Check a server address before serving on it, so a bad one is one clear line."""

from __future__ import annotations

import errno
import socket

from ratchet.core.errors import RatchetError


def check_bindable(host: str, port: int) -> None:
    """Raise a RatchetError naming what is wrong when ``host:port`` cannot be served."""
    if not 0 <= port <= 65535:
        raise RatchetError(f"dashboard port {port} is not a port number (expected 0-65535)")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except socket.gaierror:
        raise RatchetError(f"dashboard host {host!r} cannot be resolved (expected an "
                           "address of this machine, e.g. 127.0.0.1)") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise RatchetError(f"dashboard port {port} on {host} is in use (pick "
                                   "another port, or 0 for any free one)") from None
            if exc.errno == errno.EADDRNOTAVAIL:
                raise RatchetError(f"dashboard host {host!r} is not an address of this "
                                   "machine") from None
            if exc.errno == errno.EACCES:
                raise RatchetError(f"dashboard port {port} needs privileges (use a port "
                                   "above 1023)") from None
            raise RatchetError(f"cannot serve on {host}:{port}: {exc.strerror}") from None
