"""Attachments over a real server (T-102, docs/protocol.md §3.7): a customer's upload with the
ticket their socket asked for, the file sent in a `message` frame, served through its signed
links with the headers that keep it a download; the content allowlist, the cap while the body
streams, single-use tickets, another conversation's and an expired link."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from websockets.asyncio.client import ClientConnection

from parlour.storage.types import utcnow
from tests.conftest import Stack, running_stack
from tests.support import files, seed
from tests.support.chat import authenticate, open_socket, receive_until
from tests.web.test_request_limits import (
    chunk,
    closed_by_server,
    connect,
    head,
    read_answer,
)

FILE_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"


async def ticket(ws: ClientConnection) -> dict[str, Any]:
    await ws.send(json.dumps({"type": "upload"}))
    frames = await receive_until(ws, lambda f: f["type"] in ("upload_ticket", "error"))
    assert frames[-1]["type"] == "upload_ticket", frames[-1]
    return frames[-1]


async def post_file(
    client: httpx.AsyncClient, given: dict[str, Any], data: bytes, name: str, **headers: str
) -> httpx.Response:
    return await client.post(
        given["url"],
        content=data,
        headers={
            "Authorization": f"Bearer {given['ticket']}",
            "X-Parlour-Filename": quote(name),
            **headers,
        },
    )


async def send_files(ws: ClientConnection, ids: list[str], text: str = "") -> dict[str, Any]:
    client_id = str(uuid.uuid4())
    await ws.send(
        json.dumps({"type": "message", "client_id": client_id, "text": text, "attachments": ids})
    )
    frames = await receive_until(ws, lambda f: f["type"] in ("accepted", "error"))
    assert frames[-1]["type"] == "accepted", frames[-1]
    return frames[-1]


async def test_t102_a_customer_uploads_with_a_socket_ticket_and_gets_the_file_only_as_a_download(
    stack: Stack,
) -> None:
    """T-102: the socket's ticket lets one file be posted to the customer's conversation; the
    message that sends it carries its signed links; the original is an attachment with nosniff,
    a sandboxing CSP and no caching, the thumbnail a server-made PNG; the ticket works once."""
    org = await seed.organisation(stack.services)
    token = await seed.token_for(stack.services, org)
    image = files.png(800, 600)
    async with (
        open_socket(stack.ws_url, org.widget_id, org.origin) as ws,
        httpx.AsyncClient(timeout=10) as client,
    ):
        await authenticate(ws, token)
        given = await ticket(ws)
        assert given["url"] == f"{stack.url}/v1/uploads"
        assert given["max_bytes"] == stack.services.settings.attachments.max_bytes
        uploaded = await post_file(
            client,
            given,
            image,
            "reçu de mai.png",
            **{"Content-Type": "application/octet-stream", "Origin": org.origin},
        )
        assert uploaded.status_code == 201, uploaded.text
        shown = uploaded.json()
        assert shown["name"] == "reçu de mai.png"
        assert shown["content_type"] == "image/png"
        assert shown["size"] == len(image)
        assert shown["thumbnail"] is True
        assert uploaded.headers["access-control-allow-origin"] == "*"

        again = await post_file(client, given, image, "again.png")
        assert again.status_code == 401
        assert again.json()["error"]["code"] == "invalid_upload_ticket"

        accepted = await send_files(ws, [shown["id"]])
        (carried,) = accepted["attachments"]
        assert carried["id"] == shown["id"]
        assert carried["name"] == "reçu de mai.png"

        original = await client.get(carried["url"])
        assert original.status_code == 200
        assert original.content == image
        assert original.headers["content-type"] == "image/png"
        assert original.headers["content-disposition"].startswith("attachment;")
        assert (
            "filename*=UTF-8''re%C3%A7u%20de%20mai.png" in original.headers["content-disposition"]
        )
        assert original.headers["x-content-type-options"] == "nosniff"
        assert original.headers["content-security-policy"] == FILE_CSP
        assert original.headers["cache-control"] == "private, no-store"

        thumbnail = await client.get(carried["thumbnail_url"])
        assert thumbnail.status_code == 200
        assert thumbnail.headers["content-type"] == "image/png"
        assert thumbnail.headers["content-disposition"].startswith("inline")
        assert thumbnail.headers["x-content-type-options"] == "nosniff"
        assert thumbnail.headers["content-security-policy"] == FILE_CSP
        assert len(thumbnail.content) < len(image)

    # On the way back (resume, history), the message frame carries fresh links.
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, await seed.token_for(stack.services, org))
        frames = await receive_until(ws, lambda f: f["type"] == "message" and "attachments" in f)
        assert frames[-1]["attachments"][0]["id"] == shown["id"]
        assert frames[-1]["text"] == ""


async def test_t102_an_html_page_named_png_an_svg_and_a_polyglot_are_refused(stack: Stack) -> None:
    """T-102: the type is judged by content, never by the name or the declared type."""
    org = await seed.organisation(stack.services)
    token = await seed.token_for(stack.services, org)
    refused = {
        "photo.png": (files.HTML, "image/png"),
        "logo.svg": (files.SVG, "image/svg+xml"),
        "cat.png": (files.png_and_zip(), "image/png"),
        "dog.gif": (files.gif() + b"*/=alert(1);", "image/gif"),
    }
    async with (
        open_socket(stack.ws_url, org.widget_id, org.origin) as ws,
        httpx.AsyncClient(timeout=10) as client,
    ):
        await authenticate(ws, token)
        for name, (data, declared) in refused.items():
            answer = await post_file(
                client, await ticket(ws), data, name, **{"Content-Type": declared}
            )
            assert answer.status_code == 415, (name, answer.text)
            assert answer.json()["error"]["code"] == "attachment_type_refused"
        accepted = await post_file(client, await ticket(ws), files.pdf(), "statement.pdf")
        assert accepted.status_code == 201
        assert accepted.json()["content_type"] == "application/pdf"
        assert accepted.json()["thumbnail"] is False


async def test_t102_the_size_cap_holds_while_the_body_streams_whatever_its_length_says(
    stack: Stack,
) -> None:
    """T-102: a body without a length is answered 413 as soon as it passes the cap, before its
    end was sent, and the connection closes (the server stopped reading); a declared length over
    the cap is answered 413 before a byte of the body is read."""
    org = await seed.organisation(stack.services)
    token = await seed.token_for(stack.services, org)
    cap = stack.services.settings.attachments.max_bytes
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, token)
        streamed, declared = await ticket(ws), await ticket(ws)
    with connect(stack) as sock:
        sock.sendall(
            head(
                "POST",
                "/v1/uploads",
                f"Authorization: Bearer {streamed['ticket']}",
                "Transfer-Encoding: chunked",
            )
        )
        sent = 0
        block = b"\x89PNG\r\n\x1a\n" + b"\x00" * (256 * 1024 - 8)
        while sent <= cap:
            sock.sendall(chunk(block))
            sent += len(block)
        # Not the last chunk: the answer must come without the end of the body.
        answer = read_answer(sock)
        assert closed_by_server(sock)
    assert answer.status == 413
    assert json.loads(answer.body)["error"] == {
        "code": "payload_too_large",
        "message": f"A request body here may be at most {cap} bytes.",
        "request_id": answer.headers["x-request-id"],
        "details": {"limit_bytes": cap},
    }
    with connect(stack) as sock:
        sock.sendall(
            head(
                "POST",
                "/v1/uploads",
                f"Authorization: Bearer {declared['ticket']}",
                f"Content-Length: {cap + 1}",
            )
        )
        answer = read_answer(sock)
        assert closed_by_server(sock)
    assert answer.status == 413


async def test_t102_a_link_to_another_conversations_file_or_past_its_expiry_gives_404(
    tmp_path: Path, sqlite_url: str
) -> None:
    """T-102: a link whose attachment id was swapped for another conversation's, and a link
    past its expiry (the server's clock moved on), are both answered 404."""
    now = [utcnow()]
    async with running_stack(tmp_path, sqlite_url, clock=lambda: now[0]) as stack:
        org = await seed.organisation(stack.services)
        carried = []
        async with httpx.AsyncClient(timeout=10) as client:
            for user in ("customer-1", "customer-2"):
                token = await seed.token_for(stack.services, org, user)
                async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
                    await authenticate(ws, token)
                    shown = (await post_file(client, await ticket(ws), files.gif(), "a.gif")).json()
                    carried.append((await send_files(ws, [shown["id"]], "hi"))["attachments"][0])
            mine, theirs = carried
            assert (await client.get(mine["url"])).status_code == 200
            swapped = mine["url"].replace(mine["id"], theirs["id"])
            assert urlsplit(swapped).path.endswith(f"/{theirs['id']}/original")
            answer = await client.get(swapped)
            assert answer.status_code == 404
            assert answer.json()["error"]["code"] == "not_found"
            now[0] += timedelta(seconds=stack.services.settings.attachments.link_seconds + 1)
            assert (await client.get(mine["url"])).status_code == 404
            assert (await client.get(mine["thumbnail_url"])).status_code == 404
