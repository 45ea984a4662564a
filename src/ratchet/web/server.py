"""Serve the app with uvicorn: in a thread beside the loop (the daemon) or in the
foreground (`ratchet dashboard`)."""

from __future__ import annotations

import threading
import time

import uvicorn
from fastapi import FastAPI

from ratchet.errors import RatchetError
from ratchet.service.bind import check_bindable

WILDCARDS = ("0.0.0.0", "::", "")


class WebServer:
    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0):
        # the Gradio playground starts its event queue from the app's lifespan
        lifespan = "on" if getattr(app.state, "playground", False) else "off"
        config = uvicorn.Config(app, host=host, port=port, log_level="warning",
                                access_log=False, lifespan=lifespan)
        self.server = uvicorn.Server(config)
        self.host = host
        if host not in WILDCARDS:  # bound to all interfaces: the user chose to be reachable
            app.state.allowed_hosts = {"localhost", "127.0.0.1", "::1", host.lower()}
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
