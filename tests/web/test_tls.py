"""A node that terminates TLS itself (T-96): https and wss with TLS 1.2 and 1.3 only, and of TLS
1.2's suites only forward-secret AEAD ones. Probed by real handshakes with the client offering
exactly one version or suite, against the app under uvicorn on 127.0.0.1."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from parlour.app import create_app
from parlour.settings import ServerSettings, Settings
from tests.conftest import make_settings
from tests.support.servers import ThreadedServer, start_threaded
from tests.support.tls import certificate_authority, server_certificate

HOST = "localhost"  # the name the node's certificate is for


def handshake(port: int, context: ssl.SSLContext) -> tuple[str | None, str]:
    """The version and suite a client with `context` agrees with the server on `port`."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=HOST) as tls,
    ):
        cipher = tls.cipher()
        assert cipher is not None
        return tls.version(), cipher[0]


@dataclass
class TlsNode:
    server: ThreadedServer
    authority: Path  # the CA file a client trusts the node's certificate through
    permissive_port: int  # a bare TLS server with the same certificate that agrees to anything

    @property
    def port(self) -> int:
        return int(self.server.url.rsplit(":", 1)[1])

    @property
    def https_url(self) -> str:
        return f"https://{HOST}:{self.port}"

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.authority))

    def refuses(self, context: ssl.SSLContext) -> bool:
        """Whether the node refuses a client that a server allowing it would have agreed with:
        so the refusal is the node's, not the client's failing to offer anything."""
        handshake(self.permissive_port, context)
        try:
            handshake(self.port, context)
        except ssl.SSLError:
            return True
        return False


@contextlib.contextmanager
def permissive_server(certificate: Path, key: Path) -> Iterator[int]:
    """Any version from TLS 1.0, any suite: the control for the refusals below."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
    context.set_ciphers("ALL:@SECLEVEL=0")
    context.load_cert_chain(certificate, key)
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # closed: the test is over
            with conn, contextlib.suppress(OSError):
                context.wrap_socket(conn, server_side=True).close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        listener.shutdown(socket.SHUT_RDWR)  # wakes the accept (closing alone does not)
        listener.close()
        thread.join(timeout=10)


@pytest.fixture
def tls_node(tmp_path: Path) -> Iterator[TlsNode]:
    authority = certificate_authority("Parlour test CA")
    certificate, key = server_certificate(authority, HOST).write(tmp_path, "node")
    trusted = tmp_path / "ca.crt"
    trusted.write_text(authority.certificate_pem)

    def make(url: str) -> tuple[object, Settings]:
        settings = make_settings(tmp_path, public_url=url.replace("http://", "https://"))
        server = ServerSettings(
            public_url=settings.server.public_url,
            tls_certificate_file=certificate,
            tls_key_file=key,
        )
        settings = settings.model_copy(update={"server": server})
        return create_app(settings), settings

    server = start_threaded(make)  # type: ignore[arg-type]
    try:
        with permissive_server(certificate, key) as permissive_port:
            yield TlsNode(server, trusted, permissive_port)
    finally:
        server.stop()


def _offering_only(version: ssl.TLSVersion, suites: str | None = None) -> ssl.SSLContext:
    """A client context that offers one protocol version (and, if given, only these suites),
    with OpenSSL's own floor lowered so that what refuses is the node, never the client."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # naming TLS 1.0 and 1.1 at all
        context.minimum_version = context.maximum_version = version
    context.set_ciphers(f"{suites or 'DEFAULT'}:@SECLEVEL=0")
    return context


async def test_the_api_and_the_chat_socket_are_served_over_tls(tls_node: TlsNode) -> None:
    """T-96"""
    context = tls_node.client_context()
    async with httpx.AsyncClient(verify=context) as client:
        health = await client.get(f"{tls_node.https_url}/healthz")
    assert health.status_code == 200
    wss = f"wss://{HOST}:{tls_node.port}/v1/chat/no-such-widget"
    with pytest.raises(InvalidStatus) as refused:
        async with connect(wss, ssl=context, origin="https://shop.example"):
            pass
    # The gateway itself answered, over wss: no such widget.
    assert refused.value.response.status_code == 403


def test_tls_1_3_and_tls_1_2_with_a_forward_secret_aead_suite_are_agreed(
    tls_node: TlsNode,
) -> None:
    """T-96"""
    assert handshake(tls_node.port, _offering_only(ssl.TLSVersion.TLSv1_3))[0] == "TLSv1.3"
    version, suite = handshake(tls_node.port, _offering_only(ssl.TLSVersion.TLSv1_2))
    assert version == "TLSv1.2"
    assert suite.startswith("ECDHE-")  # forward secret
    assert "GCM" in suite or "CHACHA20" in suite  # authenticated encryption


@pytest.mark.parametrize("version", ["TLSv1", "TLSv1_1"])
def test_a_client_offering_only_tls_1_0_or_1_1_is_refused(tls_node: TlsNode, version: str) -> None:
    """T-96"""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        offered = ssl.TLSVersion[version]
    assert tls_node.refuses(_offering_only(offered))


@pytest.mark.parametrize(
    "suites",
    [
        "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA",  # CBC (padding oracles)
        "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384",  # CBC with SHA-2
    ],
)
def test_a_tls_1_2_client_offering_only_weak_suites_is_refused(
    tls_node: TlsNode, suites: str
) -> None:
    """T-96: Python's own server defaults would agree the CBC suites with SHA-2."""
    assert tls_node.refuses(_offering_only(ssl.TLSVersion.TLSv1_2, suites))


def test_plain_http_to_the_tls_port_gets_no_redirect(tls_node: TlsNode) -> None:
    """T-96: an API client that forgot https is not quietly redirected (its request, token
    and all, would already have crossed the network in clear); the connection just fails."""
    with socket.create_connection(("127.0.0.1", tls_node.port), timeout=10) as raw:
        raw.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        answer = b""
        while chunk := raw.recv(4096):
            answer += chunk
    assert not answer.startswith(b"HTTP/")


def test_a_tls_key_without_its_certificate_is_a_settings_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="tls_certificate_file"):
        ServerSettings(tls_key_file=tmp_path / "node.key")
