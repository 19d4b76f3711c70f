"""Attachments over HTTP (T-102, docs/protocol.md §3.7): a customer's upload with the ticket
their socket was given, and every attachment's download through its signed link.

The upload's body is read as it streams, in chunks, and reading stops at the cap: the body
limit of this route is the attachment cap (web/request_limits.py answers 413 as soon as the
count passes it, whatever `Content-Length` said, and closes the connection), and the route
counts again as it collects. The file's name comes in `X-Parlour-Filename`, percent-encoded
UTF-8; its type is never read from the request (chat/attachment_content.py judges it).

Cross-origin: a widget on the organisation's site posts here and loads thumbnails from here.
The upload is authorised by its ticket alone (a bearer credential in a header, never a
cookie), so any origin may post with one (`Access-Control-Allow-Origin: *`, no credentials).
A link is the credential of a download, likewise.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, unquote

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse, Response

from parlour.audit.events import Actor, ActorType
from parlour.chat.attachment_links import InvalidUploadTicket, Kind
from parlour.errors import InvalidInput, NotFound
from parlour.settings import Settings
from parlour.web.deps import ServicesDep, declares, request_context
from parlour.web.policy import Public
from parlour.web.request_limits import body_limit

router = APIRouter(tags=["attachments"])

# What a served file may do in a browser that opens it: nothing (no script, no plugin, no
# subresource, a unique origin).
FILE_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"
ALLOWED_HEADERS = "authorization, content-type, x-parlour-filename"


@declares("upload_ticket")
async def upload_ticket(request: Request) -> str:
    """The ticket in `Authorization: Bearer …`: the whole of this route's authentication (its
    signature, expiry, binding and single use are the attachments service's to check)."""
    scheme, _, ticket = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not ticket.strip():
        raise InvalidUploadTicket("Send the upload ticket as Authorization: Bearer <ticket>.")
    return ticket.strip()


@declares("signed_link")
async def signed_link() -> None:
    """Anyone holding the link; the attachments service checks its signature and expiry."""


def _upload_limit(settings: Settings) -> int:
    return settings.attachments.max_bytes


@router.options("/v1/uploads", dependencies=[Public], include_in_schema=False)
async def upload_preflight() -> Response:
    return Response(
        status_code=204,
        headers={
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": ALLOWED_HEADERS,
            "Access-Control-Max-Age": "600",
        },
    )


# Part of the chat protocol (docs/protocol.md §3.7), like the socket, not of the REST API's
# OpenAPI document.
@router.post("/v1/uploads", status_code=201, include_in_schema=False)
@body_limit(_upload_limit)
async def upload(
    request: Request,
    services: ServicesDep,
    ticket: Annotated[str, Depends(upload_ticket)],
) -> JSONResponse:
    """One file to the ticket's conversation; its id for the `message` frame that sends it."""
    # The cap is held while the body streams, by the request limits (`body_limit` above).
    data = await request.body()
    try:
        name = unquote(request.headers.get("x-parlour-filename", ""), errors="strict")
    except UnicodeDecodeError as bad:
        raise InvalidInput("X-Parlour-Filename is percent-encoded UTF-8.") from bad
    context = request_context(request)
    stored = await services.attachments.upload_with_ticket(
        ticket,
        name,
        data,
        actor=Actor(ActorType.SYSTEM, "customer", context["ip"], context["request_id"]),
    )
    return JSONResponse(
        uploaded(stored.ref.as_json()),
        status_code=201,
        headers={"Access-Control-Allow-Origin": "*"},
    )


def uploaded(ref: dict[str, object]) -> dict[str, Any]:
    """An upload's answer: what a message frame will say of the file, without links (it is
    nobody's message yet)."""
    return {k: ref[k] for k in ("id", "name", "content_type", "size", "thumbnail")}


@router.get(
    "/v1/attachments/{tenant_id}/{attachment_id}/{kind}",
    dependencies=[Depends(signed_link)],
    include_in_schema=False,
)
async def download(
    tenant_id: Annotated[str, Path(min_length=1, max_length=64)],
    attachment_id: Annotated[str, Path(min_length=1, max_length=64)],
    kind: str,
    request: Request,
    services: ServicesDep,
    exp: str = "",
    sig: str = "",
) -> Response:
    """The original (as a download) or the thumbnail (a server-made PNG or JPEG) a signed
    link names; 404 for a link that does not verify, has expired, or names nothing."""
    if kind not in (Kind.ORIGINAL.value, Kind.THUMBNAIL.value) or len(sig) > 128:
        raise NotFound()
    context = request_context(request)
    served = await services.attachments.serve(
        tenant_id,
        attachment_id,
        Kind(kind),
        exp,
        sig,
        actor=Actor(ActorType.SYSTEM, "signed-link", context["ip"], context["request_id"]),
    )
    headers = {
        "Content-Security-Policy": FILE_CSP,
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Resource-Policy": "cross-origin",
        "Access-Control-Allow-Origin": "*",
    }
    if served.kind is Kind.THUMBNAIL:
        headers["Content-Disposition"] = 'inline; filename="thumbnail"'
        headers["Cache-Control"] = "private, max-age=300"
    else:
        headers["Content-Disposition"] = content_disposition(served.name)
        headers["Cache-Control"] = "private, no-store"
    return Response(served.data, media_type=served.content_type, headers=headers)


def content_disposition(name: str) -> str:
    """Always a download: an ASCII stand-in for old clients, the real name in `filename*`."""
    plain = "".join(c if (c.isascii() and c.isalnum()) or c in "._- " else "_" for c in name)
    return f"attachment; filename=\"{plain or 'file'}\"; filename*=UTF-8''{quote(name, safe='')}"
