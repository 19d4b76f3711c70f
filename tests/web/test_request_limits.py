"""What every request must keep before a route sees it, checked on raw sockets against a real
server: one cap on every body, a declared length over it answered 413 before any of the body is
read, an undeclared one as soon as it passes the cap, in the route's usual error answer, and the
connection closed (T-62)."""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from parlour.keys.models import Scope
from parlour.web.server import LINGER_SECONDS
from tests.conftest import Stack
from tests.support import seed
from tests.web.test_hardening import assert_security_headers

TWENTY_MB = 20 * 1024 * 1024
WAIT_SECONDS = 10.0


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def error_code(self) -> str:
        code: str = json.loads(self.body)["error"]["code"]
        return code


def connect(stack: Stack) -> socket.socket:
    url = urlsplit(stack.url)
    return socket.create_connection((url.hostname, url.port), timeout=WAIT_SECONDS)


def read_answer(sock: socket.socket) -> Answer:
    """One answer, read within the socket's timeout (so a server that waits for the rest of
    the body fails the test)."""
    raw = b""
    while b"\r\n\r\n" not in raw:
        raw += receive(sock)
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    while len(body) < int(headers["content-length"]):
        body += receive(sock)
    return Answer(int(status_line.split()[1]), headers, body)


def receive(sock: socket.socket) -> bytes:
    data = sock.recv(65536)
    assert data, "the server closed the connection before answering"
    return data


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closes the connection after its answer, within the timeout."""
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True


def head(method: str, path: str, *lines: str) -> bytes:
    return "\r\n".join([f"{method} {path} HTTP/1.1", "Host: parlour.test", *lines, "", ""]).encode()


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


async def test_t62_a_declared_twenty_megabyte_sign_up_is_refused_before_a_byte_is_read(
    stack: Stack,
) -> None:
    """T-62: the unauthenticated sign-up, declaring 20 MB and asking to be told before it sends
    (Expect: 100-continue): the answer is 413 at once, never "100 Continue", and the
    connection closes; the client never sent a byte of its body."""
    with connect(stack) as sock:
        sock.sendall(
            head(
                "POST",
                "/v1/accounts",
                "Content-Type: application/json",
                f"Content-Length: {TWENTY_MB}",
                "Expect: 100-continue",
            )
        )
        answer = read_answer(sock)
        assert closed_by_server(sock)
    assert answer.status == 413
    assert answer.error_code() == "payload_too_large"
    limit = stack.services.settings.server.max_request_bytes
    assert json.loads(answer.body)["error"]["details"] == {"limit_bytes": limit}
    assert answer.headers["connection"] == "close"
    assert answer.headers["x-request-id"]
    assert_security_headers(answer.headers, "413")


async def test_t62_a_chunked_sign_up_is_cut_off_as_soon_as_it_passes_the_cap(
    stack: Stack,
) -> None:
    """T-62: with no declared length, the client sends the headers and just past the cap, then
    nothing more (not even the last chunk): the 413 arrives without the server waiting for the
    rest, and the connection closes."""
    limit = stack.services.settings.server.max_request_bytes
    with connect(stack) as sock:
        sock.sendall(
            head(
                "POST",
                "/v1/accounts",
                "Content-Type: application/json",
                "Transfer-Encoding: chunked",
            )
        )
        sock.sendall(chunk(b'{"email": "' + b"a" * limit))
        answer = read_answer(sock)
        assert closed_by_server(sock)
    assert answer.status == 413
    assert answer.error_code() == "payload_too_large"
    assert answer.headers["connection"] == "close"


async def test_t62_json_routes_behind_an_api_key_have_the_same_cap(stack: Stack) -> None:
    """T-62: before the key is even looked at."""
    with connect(stack) as sock:
        sock.sendall(
            head(
                "POST",
                "/v1/end-user-tokens",
                "Authorization: Bearer parlour_sk_0000000000000000_nope",
                "Content-Type: application/json",
                f"Content-Length: {TWENTY_MB}",
            )
        )
        answer = read_answer(sock)
    assert (answer.status, answer.error_code()) == (413, "payload_too_large")


async def test_t62_a_dashboard_form_over_the_cap_gets_the_error_page(stack: Stack) -> None:
    """T-62: the dashboard's forms have the same cap, and a person sees the dashboard's error
    page rather than JSON; a form that does not say its length is refused too (browsers always
    say it)."""
    lines = (
        "Content-Type: application/x-www-form-urlencoded",
        f"Origin: {stack.url}",
    )
    with connect(stack) as sock:
        sock.sendall(head("POST", "/dashboard/signup", *lines, f"Content-Length: {TWENTY_MB}"))
        declared = read_answer(sock)
        assert closed_by_server(sock)
    with connect(stack) as sock:
        sock.sendall(head("POST", "/dashboard/signup", *lines, "Transfer-Encoding: chunked"))
        sock.sendall(chunk(b"organisation=" + b"a" * 1024))
        undeclared = read_answer(sock)
    for answer in (declared, undeclared):
        assert answer.status == 413
        assert answer.headers["content-type"].startswith("text/html")
        assert b"Something is not right" in answer.body


async def test_knowledge_uploads_keep_their_own_larger_limit(stack: Stack) -> None:
    """The per-route override: a 2 MB file is over the server's cap but within the upload
    limit, so the upload route reads it and judges it (here: not a type it takes), and its
    dashboard twin refuses a form at the door only past the upload limit."""
    org = await seed.organisation(stack.services, faq=None, scopes=(Scope.WRITE_KNOWLEDGE,))
    blob = b"\x89PNG\r\n\x1a\n" + b"\x00" * (2 * 1024 * 1024)
    assert stack.services.settings.server.max_request_bytes < len(blob)
    assert len(blob) < stack.services.knowledge.max_upload_bytes
    async with httpx.AsyncClient(base_url=stack.url, timeout=WAIT_SECONDS) as client:
        judged = await client.put(
            "/v1/knowledge/sources/photo.png",
            content=blob,
            headers={"Authorization": f"Bearer {org.api_key}"},
        )
    assert judged.status_code in (415, 422), judged.text
    assert judged.json()["error"]["code"] != "payload_too_large"
    over = stack.services.knowledge.max_upload_bytes + 65 * 1024
    with connect(stack) as sock:
        sock.sendall(
            head(
                "POST",
                f"/dashboard/o/{org.tenant_id}/knowledge",
                "Content-Type: multipart/form-data; boundary=x",
                f"Content-Length: {over}",
            )
        )
        answer = read_answer(sock)
        assert closed_by_server(sock)
    assert answer.status == 413
    with connect(stack) as sock:
        within = stack.services.knowledge.max_upload_bytes
        sock.sendall(
            head(
                "POST",
                f"/dashboard/o/{org.tenant_id}/knowledge",
                "Content-Type: multipart/form-data; boundary=x",
                f"Content-Length: {within}",
            )
        )
        # Within its limit, the route itself answers: without a session, the way to the login
        # page, before it reads a body it does not need.
        answer = read_answer(sock)
    assert answer.status == 303


async def test_t62_a_client_that_sends_everything_before_reading_still_gets_the_413(
    stack: Stack,
) -> None:
    """T-62: like most HTTP clients, httpx reads the answer only once it has sent the whole
    body; the server, having answered, drops what still comes instead of resetting the
    connection, so the 413 is not lost."""
    limit = stack.services.settings.server.max_request_bytes
    async with httpx.AsyncClient(base_url=stack.url, timeout=WAIT_SECONDS) as client:
        answer = await client.post(
            "/v1/accounts",
            content=b'{"email": "' + b"a" * (2 * limit) + b'"}',
            headers={"Content-Type": "application/json"},
        )
    assert (answer.status_code, answer.json()["error"]["code"]) == (413, "payload_too_large")


async def test_t62_a_client_that_keeps_sending_after_the_413_is_cut_off(stack: Stack) -> None:
    """T-62: what is dropped after the answer is bounded: a client that streams on regardless
    finds the connection closed (its sends fail) within the bounded wait."""
    cut_off = threading.Event()

    def stream_for_ever(sock: socket.socket) -> None:
        try:
            while True:
                sock.sendall(chunk(b"a" * 65536))
        except OSError:
            cut_off.set()

    with connect(stack) as sock:
        sock.sendall(head("POST", "/v1/accounts", "Transfer-Encoding: chunked"))
        sender = threading.Thread(target=stream_for_ever, args=(sock,), daemon=True)
        sender.start()
        answer = read_answer(sock)
        assert cut_off.wait(timeout=6 * LINGER_SECONDS), "still reading after the answer"
        sender.join(timeout=WAIT_SECONDS)
    assert answer.status == 413
