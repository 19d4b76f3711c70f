"""Serving the embeddable widget script to organisations' pages."""

from __future__ import annotations

import base64
import hashlib
from importlib import resources
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response

from parlour.errors import NotFound
from parlour.web.policy import Public

router = APIRouter(include_in_schema=False)

WIDGET_FILE = "parlour-widget.js"


def widget_source_dir() -> Path:
    """Inside an installed wheel the script sits beside this module; in a checkout it is read
    from widget/src, the one copy that is edited."""
    packaged = Path(str(resources.files("parlour.web"))) / "widget_assets"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "widget" / "src"


_WIDGET_DIR = widget_source_dir()


def widget_integrity() -> str:
    """The Subresource Integrity value of the script as served now, for the embed snippet."""
    digest = hashlib.sha384((_WIDGET_DIR / WIDGET_FILE).read_bytes()).digest()
    return "sha384-" + base64.b64encode(digest).decode()


@router.get("/widget/v1/parlour-widget.js", dependencies=[Public])
async def widget_script() -> Response:
    path = _WIDGET_DIR / WIDGET_FILE
    if not path.is_file():
        raise NotFound("the widget script is not installed")
    return Response(
        path.read_bytes(),
        media_type="text/javascript; charset=utf-8",
        headers={
            "Cache-Control": "public, max-age=300",
            # Organisations' pages, on their own origins, load this script, with an integrity
            # hash (SRI needs CORS); it is public and sent without credentials.
            "Cross-Origin-Resource-Policy": "cross-origin",
            "Access-Control-Allow-Origin": "*",
        },
    )
