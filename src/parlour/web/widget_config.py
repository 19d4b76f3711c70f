"""What organisations' pages read besides the widget script: the widget's config (how the
organisation made it look, `tenants.appearance`) and its logo. Both are public, read by the
widget from any page, without credentials (CORS `*`), as JSON or a PNG: never markup or script.

The config is cached five minutes and carries an ETag: a page that asks again with
`If-None-Match` gets 304. The logo's URL names its content's digest, so it is cached for good
(a new logo is a new URL), served with nosniff and CORP cross-origin (T-109).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from parlour.errors import NotFound
from parlour.tenants.appearance import public_config
from parlour.tenants.appearance_service import WidgetLook
from parlour.web.deps import ServicesDep
from parlour.web.errors import error_response, http_status
from parlour.web.policy import Public
from parlour.web.widget import IMMUTABLE

router = APIRouter(include_in_schema=False)

CONFIG_CACHE = "public, max-age=300"
# Organisations' pages, on their own origins, read these without credentials.
_CROSS_ORIGIN = {"Access-Control-Allow-Origin": "*", "Cross-Origin-Resource-Policy": "cross-origin"}


def logo_path(widget_id: str, digest: str) -> str:
    return f"/widget/v1/logo/{widget_id}/{digest}.png"


def config_of(look: WidgetLook, base_url: str = "") -> dict[str, Any]:
    """The config's JSON: a fixed shape the widget reads (README, "The widget's look"). Its
    `logo_url` is a path on this server, which the widget makes absolute with the server it was
    given (the API gives it absolute, with `base_url`)."""
    digest = look.appearance.logo_digest
    logo_url = None if digest is None else base_url.rstrip("/") + logo_path(look.widget_id, digest)
    return public_config(look.appearance, logo_url)


def _matches(if_none_match: str, etag: str) -> bool:
    sent = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in sent or "*" in sent


@router.get("/widget/v1/config/{widget_id}", dependencies=[Public])
async def widget_config(widget_id: str, request: Request, services: ServicesDep) -> Response:
    try:
        look = await services.widget_appearance.for_widget(widget_id)
    except NotFound as unknown:
        # In the error shape, and readable by the page that asked (CORS) so the widget can say so.
        return error_response(
            http_status(unknown), unknown.code, unknown.message, request, headers=_CROSS_ORIGIN
        )
    body = json.dumps(
        config_of(look),
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"Cache-Control": CONFIG_CACHE, "ETag": etag, **_CROSS_ORIGIN}
    if _matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@router.get("/widget/v1/logo/{widget_id}/{digest}.png", dependencies=[Public])
async def widget_logo(widget_id: str, digest: str, services: ServicesDep) -> Response:
    png = await services.widget_appearance.logo_for_widget(widget_id, digest)
    return Response(
        png,
        media_type="image/png",
        headers={
            "Cache-Control": IMMUTABLE,
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": 'inline; filename="logo.png"',
            **_CROSS_ORIGIN,
        },
    )
