"""Several processes per node: `parlour serve --workers N`.

The parent binds the listening socket once and starts N worker processes (spawned, so each is a
fresh interpreter holding nothing of the parent's), which accept from that one socket; the
kernel spreads connections between them. A worker is a node in all but name: it builds its own
services, so the workers of one node share what nodes share, the database and Redis, and
nothing else. That is why several workers need the scaled-out profile: on the embedded one
(SQLite, the in-process broker), a message stored by one worker would never reach a socket held
by another, so `--workers` above 1 is refused there with the reason.

The parent only supervises: a worker that dies is replaced (its live gauges leave the node's
metric sums), one that fails to start stops the node, and SIGTERM or SIGINT stops every worker
gracefully, killing what is still running after the grace period. The metrics of all workers
are summed through a multiprocess directory (parlour.metrics): the operator's
`PROMETHEUS_MULTIPROC_DIR`, or a fresh one the parent makes and removes.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
from collections.abc import Callable
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType

import uvicorn
from uvicorn.config import STARTUP_FAILURE

from parlour import metrics
from parlour.settings import Settings

log = logging.getLogger(__name__)

# A worker's body (`parlour serve` in one process, on the given socket), picklable: a function of
# a module, since workers are spawned.
Worker = Callable[[socket.socket, str | None, int | None], None]

# How long stopping workers get to close their sockets and finish turns before they are killed.
GRACE_SECONDS = 30.0


class WorkersRefused(Exception):
    """`--workers` cannot be honoured with these settings; the message says why."""


def check_workers(settings: Settings, workers: int) -> None:
    if workers < 1:
        raise WorkersRefused("--workers must be at least 1")
    if workers == 1:
        return
    database = settings.database.url
    if settings.redis.url is None or database is None or database.startswith("sqlite"):
        raise WorkersRefused(
            "--workers above 1 needs the scaled-out profile: the processes share conversations, "
            "fan-out and limits through a database server (database.url) and Redis "
            "(redis.url), as nodes do. The embedded profile (SQLite, in-process fan-out) runs "
            "one process per node."
        )


def serve_workers(
    settings: Settings, workers: int, body: Worker, *, host: str | None, port: int | None
) -> int:
    """Run `workers` processes of `body` on one listening socket until a signal stops them; the
    exit status: 0, or STARTUP_FAILURE when a worker could not start."""
    check_workers(settings, workers)
    own_metrics_dir = None
    if metrics.multiprocess_dir() is None:
        own_metrics_dir = tempfile.mkdtemp(prefix="parlour-metrics-")
        os.environ[metrics.MULTIPROC_DIR_VARIABLE] = own_metrics_dir
    listening = uvicorn.Config(
        app="parlour.app:create_app",
        host=host or settings.server.host,
        port=settings.server.port if port is None else port,
    ).bind_socket()
    try:
        return _Supervisor(listening, workers, body, host=host, port=port).run()
    finally:
        listening.close()
        if own_metrics_dir is not None:
            shutil.rmtree(own_metrics_dir, ignore_errors=True)


class _Supervisor:
    def __init__(
        self,
        listening: socket.socket,
        workers: int,
        body: Worker,
        *,
        host: str | None,
        port: int | None,
    ) -> None:
        self._listening = listening
        self._count = workers
        self._body = body
        self._where = (host, port)
        self._context = multiprocessing.get_context("spawn")
        self._stopping = False

    def run(self) -> int:
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        workers = [self._start() for _ in range(self._count)]
        status = 0
        try:
            while not self._stopping:
                # Wakes when a worker ends, or a signal arrives (checked at least every second).
                wait([w.sentinel for w in workers], timeout=1.0)
                for i, worker in enumerate(workers):
                    if worker.is_alive() or self._stopping:
                        continue
                    if worker.exitcode == STARTUP_FAILURE:
                        log.error("a worker could not start; stopping the node")
                        self._stopping, status = True, STARTUP_FAILURE
                        break
                    log.warning(
                        "worker %s ended (exit %s); starting another", worker.pid, worker.exitcode
                    )
                    if worker.pid is not None:
                        metrics.process_exited(worker.pid)
                    workers[i] = self._start()
        finally:
            self._stop_all(workers)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return status

    def _start(self) -> BaseProcess:
        host, port = self._where
        worker = self._context.Process(
            target=self._body, args=(self._listening, host, port), name="parlour-worker"
        )
        worker.start()
        log.info("worker %s started", worker.pid)
        return worker

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        log.info("stopping the workers (%s)", signal.Signals(signum).name)
        self._stopping = True

    @staticmethod
    def _stop_all(workers: list[BaseProcess]) -> None:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()  # SIGTERM: uvicorn's graceful shutdown
        for worker in workers:
            worker.join(GRACE_SECONDS)
            if worker.is_alive():
                log.warning("worker %s did not stop in time; killed", worker.pid)
                worker.kill()
                worker.join(GRACE_SECONDS)
