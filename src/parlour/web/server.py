"""Running the app under uvicorn with the gateway's limits, over TLS when given a certificate;
and, when `monitoring.metrics_listen` says where, the metrics listener beside it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from typing import Any

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState

from parlour import metrics
from parlour.settings import Settings, listen_address
from parlour.web.monitoring import metrics_app
from parlour.web.tls import server_context

# How long a connection answered before its request body ended (a 413) keeps reading and
# dropping what the client still sends, as nginx's lingering close does: long enough for a
# client that reads only once it has sent everything to get its answer, bounded all the same.
LINGER_SECONDS = 5.0


class HeaderDeadlineProtocol(H11Protocol):
    """HTTP/1.1 that closes connections whose request headers do not arrive in full in time,
    and lingers over closing one whose request body is still arriving.

    uvicorn arms no timer before a first request, and any data cancels its keep-alive timer, so
    a client that dribbles header bytes (slow-loris) would hold a connection for ever (T-25).

    A refusal that closes the connection before the body has all arrived (web/request_limits.py,
    T-62) would, closed at once, reset it: the client's kernel then drops the answer before a
    client that sends its whole body first has read it. So such a close sends the answer and a
    FIN, then drops what still arrives for at most LINGER_SECONDS, and only then closes.
    """

    header_timeout: float = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._deadline: asyncio.TimerHandle | None = None
        self._lingering: asyncio.TimerHandle | None = None
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._lingering is not None:
            return  # answered and closing: read, and dropped
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:
            self._arm()  # still (or again) waiting for a complete request head
        elif self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def handle_events(self) -> None:
        super().handle_events()
        if self.cycle is not None and not isinstance(self.cycle.transport, _LingeringClose):
            self.cycle.transport = _LingeringClose(self.transport, self)  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self._deadline, self._lingering):
            if timer is not None:
                timer.cancel()
        super().connection_lost(exc)

    def close_after_answer(self) -> None:
        """Close now if the request was read to its end; otherwise linger (above)."""
        if self.conn.their_state is not h11.SEND_BODY or self.transport.is_closing():
            self.transport.close()
            return
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._lingering = self.loop.call_later(LINGER_SECONDS, self.transport.close)
        self.flow.resume_reading()

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self.header_timeout, self._too_slow)

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.get_protocol() is not self:
            return  # upgraded to a WebSocket: that protocol owns the connection now
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


# The lines uvicorn and websockets log for an upgrade refused with an HTTP answer.
_REFUSED_UPGRADE_LINES = frozenset({'%s - "WebSocket %s" %d', "connection rejected (%d %s)"})


class _RefusalsRecordedElsewhere(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg not in _REFUSED_UPGRADE_LINES


_websocket_log = logging.getLogger("uvicorn.error.websocket")
_websocket_log.addFilter(_RefusalsRecordedElsewhere())


class QuietRefusalProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol, leaving the record of a refused upgrade to the gateway.

    The gateway refuses an upgrade (a foreign origin, too many handshakes) with an HTTP answer
    in the one error shape and records it once, as a structured security event. uvicorn and
    websockets added two INFO lines of their own and then, as uvicorn does not count that
    answer as the end of the handshake, an ERROR ("ASGI callable returned without completing
    handshake"): anyone could fill the log with errors at will.
    """

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.logger = self.conn.logger = _websocket_log

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.http.response.body" and not message.get("more_body"):
            self.handshake_complete = True  # answered: the handshake is over


class _LingeringClose:
    """A request's view of its connection: the same transport, but closing it lingers."""

    def __init__(self, transport: asyncio.Transport, protocol: HeaderDeadlineProtocol) -> None:
        self._transport = transport
        self._protocol = protocol

    def close(self) -> None:
        self._protocol.close_after_answer()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def uvicorn_config(
    app: ASGIApp, settings: Settings, *, host: str | None = None, port: int | None = None
) -> uvicorn.Config:
    gateway = settings.gateway
    protocol: Any = type(
        "ParlourHttpProtocol",
        (HeaderDeadlineProtocol,),
        {"header_timeout": gateway.handshake_timeout_seconds},
    )
    server = settings.server
    tls: dict[str, Any] = {}
    if server.tls_certificate_file is not None:
        certificate, key = server.tls_certificate_file, server.tls_key_file
        tls["ssl_context_factory"] = lambda _config, _default: server_context(certificate, key)
    return uvicorn.Config(
        app,
        host=host or settings.server.host,
        port=settings.server.port if port is None else port,
        http=protocol,
        ws=QuietRefusalProtocol,
        # Frames over the limit close the socket with 1009 before the app sees them.
        ws_max_size=gateway.max_frame_bytes,
        # Compression would let a small frame inflate past the limits (T-26).
        ws_per_message_deflate=False,
        ws_ping_interval=gateway.ping_interval_seconds,
        ws_ping_timeout=gateway.ping_timeout_seconds,
        server_header=False,
        # Client addresses come from the socket; web/proxy.py handles trusted proxies.
        proxy_headers=False,
        log_level="info",
        # Its records go through parlour.logs, as every other record does.
        log_config=None,
        **tls,
    )


def serve(
    app: ASGIApp,
    settings: Settings,
    *,
    host: str | None,
    port: int | None,
    sockets: list[socket.socket] | None = None,
) -> bool:
    """`parlour serve`: the app, and the metrics listener when configured; until a signal stops
    the app, which then stops the listener too. On `sockets` when given (a worker of several,
    web/workers.py); whether the server started."""
    config = uvicorn_config(app, settings, host=host, port=port)
    listen = settings.monitoring.metrics_listen
    server = (
        _PublicServer(config)
        if listen is None
        else _WithMetricsListener(config, _MetricsServer(metrics_config(listen)))
    )
    server.run(sockets)
    return server.started


class _PublicServer(uvicorn.Server):
    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Then this process's live gauges leave the node's sums (uvicorn ends a process
        stopped by a signal with that signal, so nothing after `run` would run)."""
        await super().shutdown(sockets)
        metrics.process_exited()


class _WithMetricsListener(_PublicServer):
    """The public server, with the metrics listener serving first and for as long as it does; a
    listener that cannot start stops the process."""

    def __init__(self, config: uvicorn.Config, side: _MetricsServer) -> None:
        super().__init__(config)
        self._side = side

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        side = self._side
        serving = asyncio.create_task(
            side.serve(_shared_sockets(side.config.host, side.config.port))
        )
        started = asyncio.create_task(side.listening.wait())
        await asyncio.wait((serving, started), return_when=asyncio.FIRST_COMPLETED)
        if not started.done():
            started.cancel()
            serving.result()  # why it stopped (uvicorn exits when it cannot bind)
            raise RuntimeError("the metrics listener did not start")
        try:
            await super().serve(sockets)
        finally:
            side.should_exit = True
            await serving


class _MetricsServer(uvicorn.Server):
    """The metrics listener: it leaves signals to the public server, which stops it."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.listening.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def metrics_config(listen: str) -> uvicorn.Config:
    """The metrics listener on `host:port` (`[::1]:9464` for IPv6): `/metrics` only. Logging
    stays as the public server's configuration set it."""
    host, port = listen_address(listen)
    return uvicorn.Config(
        metrics_app(),
        host=host,
        port=port,
        lifespan="off",
        server_header=False,
        access_log=False,
        log_config=None,
    )


def _shared_sockets(host: str, port: int) -> list[socket.socket] | None:
    """With several processes per node (a multiprocess directory), each binds the metrics port
    with SO_REUSEPORT: any of them answers a scrape, with the node's sums."""
    if metrics.multiprocess_dir() is None:
        return None
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return [sock]
