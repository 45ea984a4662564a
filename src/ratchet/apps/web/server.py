"""Serve the app with uvicorn: in a thread beside the loop (the daemon) or in the
foreground (`ratchet dashboard`)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable

import uvicorn
from fastapi import FastAPI

from ratchet.core.errors import RatchetError
from ratchet.service.bind import check_bindable

WILDCARDS = ("0.0.0.0", "::", "")


def allowed_hosts(host: str, listed: Iterable[str] = ()) -> set[str]:
    """The names a request's Host header may carry: localhost, the bound address (bound to
    every interface: this machine's host names) and the names listed (the recipe's
    ``dashboard.allowed_hosts``, ``ratchet dashboard --allow-host``)."""
    names = {"localhost", "127.0.0.1", "::1", *(h.strip().lower() for h in listed)}
    if host in WILDCARDS:
        names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
    else:
        names.add(host.strip("[]").lower())
    return names


class WebServer:
    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0,
                 allowed: Iterable[str] = ()):
        # the Gradio playground starts its event queue from the app's lifespan
        lifespan = "on" if getattr(app.state, "playground", False) else "off"
        config = uvicorn.Config(app, host=host, port=port, log_level="warning",
                                access_log=False, lifespan=lifespan)
        self.server = uvicorn.Server(config)
        self.host = host
        app.state.allowed_hosts = allowed_hosts(
            host, [*allowed, *getattr(app.state, "recipe_hosts", ())])
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        sock = self.server.servers[0].sockets[0].getsockname()
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{sock[1]}/"

    def start(self, timeout_s: float = 15.0) -> str:
        check_bindable(self.host, self.server.config.port)
        self.thread = threading.Thread(target=self.server.run, name="ratchet-web",
                                       daemon=True)
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RatchetError(f"the dashboard could not listen on {self.host}:"
                                   f"{self.server.config.port}")
            time.sleep(0.02)
        return self.url

    def wait(self) -> None:
        """Block until the server thread ends or Ctrl+C, then stop (foreground use)."""
        try:
            self.thread.join()  # type: ignore[union-attr]
        except KeyboardInterrupt:
            self.stop()

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=5)
