"""Real uvicorn servers on 127.0.0.1 for tests: in a thread of this process, or as a subprocess
running `parlour serve` when the test is about the process itself (restarts)."""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from parlour.settings import Settings
from parlour.web.server import uvicorn_config
from tests.support import canaries

STARTED = "Application startup complete."  # uvicorn's line, once per process
# A `parlour serve` child imports for ~8 s on these 2-core machines; longer beside other tests.
START_TIMEOUT_SECONDS = 45.0


def free_socket() -> socket.socket:
    # IPPROTO_TCP explicitly: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say so,
    # and accepted sockets inherit the listener's protocol; with proto 0, two small frames in a
    # row wait ~40 ms for a delayed ACK, as they would not under `parlour serve`.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


@dataclass
class ThreadedServer:
    """A uvicorn server with its own event loop in a background thread."""

    url: str
    app: Any
    settings: Settings | None
    server: _Server
    thread: threading.Thread

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=START_TIMEOUT_SECONDS)
        if self.thread.is_alive():
            raise RuntimeError("server did not stop in time")


def url_of(sock: socket.socket) -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


def start_threaded(
    make_app: Callable[[str], tuple[ASGIApp, Settings | None]],
    sock: socket.socket | None = None,
    **uvicorn_options: Any,
) -> ThreadedServer:
    """Build the app for its URL, serve it on `sock` (default: a free port), and return once it
    accepts connections. `uvicorn_options` (TLS, say) are for apps without Parlour settings."""
    sock = sock or free_socket()
    url = url_of(sock)
    app, settings = make_app(url)
    if settings is not None:
        config = uvicorn_config(app, settings, host="127.0.0.1", port=0)
    else:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, **uvicorn_options)
    config.log_level = "warning"
    server = _Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    if not server.ready.wait(START_TIMEOUT_SECONDS) or not server.started:
        server.should_exit = True
        raise RuntimeError(f"server at {url} did not start")
    return ThreadedServer(url=url, app=app, settings=settings, server=server, thread=thread)


class ChildProcess:
    """A command in a child process: every line it prints is kept, and a test can wait for the
    line that says it is ready."""

    def __init__(self, command: list[str], env: dict[str, str], name: str) -> None:
        self.name = name
        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._pump = threading.Thread(target=self._read_output, daemon=True)
        self._pump.start()

    def _read_output(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode(errors="replace")
            self.output.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def wait_for(self, marker: str, timeout: float) -> None:
        """Block until a printed line holds `marker`."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                raise RuntimeError(f"{self.name} exited early:\n" + "".join(self.output))
            if marker in line:
                return
        raise RuntimeError(f"{self.name} did not start:\n" + "".join(self.output))


class ServeProcess(ChildProcess):
    """`parlour serve` in a child process, configured only through the environment. Every line
    it prints is kept, and handed to the run's log scan when it stops."""

    def __init__(self, env: dict[str, str], port: int, *, workers: int = 1) -> None:
        self.port = port
        self.workers = workers
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}"
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("PARLOUR_")}
        child_env.update(env)
        super().__init__(
            [sys.executable, "-m", "parlour", "serve", "--port", str(port)]
            + ([] if workers == 1 else ["--workers", str(workers)]),
            child_env,
            "parlour serve",
        )

    def wait_ready(self) -> None:
        """Block until uvicorn reports it is listening (each worker, that it started)."""
        if self.workers == 1:
            self.wait_for("Uvicorn running on", START_TIMEOUT_SECONDS)
        for _ in range(self.workers if self.workers > 1 else 0):
            self.wait_for(STARTED, START_TIMEOUT_SECONDS)

    def kill(self) -> None:
        """SIGKILL: the node dies mid-work, without closing anything."""
        self.process.kill()
        self.process.wait(timeout=START_TIMEOUT_SECONDS)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=START_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=START_TIMEOUT_SECONDS)
        self._pump.join(timeout=START_TIMEOUT_SECONDS)
        canaries.record_output("".join(self.output))
