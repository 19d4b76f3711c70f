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
# Served for each version of the script at a URL of its own that never changes (T-92).
IMMUTABLE = "public, max-age=31536000, immutable"


def widget_script_bytes() -> bytes:
    path = _WIDGET_DIR / WIDGET_FILE
    if not path.is_file():
        raise NotFound("the widget script is not installed")
    return path.read_bytes()


def widget_integrity() -> str:
    """The Subresource Integrity value of the script as served now, for the embed snippet."""
    digest = hashlib.sha384(widget_script_bytes()).digest()
    return "sha384-" + base64.b64encode(digest).decode()


def widget_path() -> str:
    """The script's own URL path for this version of it, named by its content: the embed
    snippet loads it from here, with its integrity hash, and caches it for good."""
    return f"/widget/v1/{_version(widget_script_bytes())}/{WIDGET_FILE}"


@router.get("/widget/v1/parlour-widget.js", dependencies=[Public])
async def widget_script() -> Response:
    """The current version, for pages that follow it without an integrity hash."""
    return _script(widget_script_bytes(), "public, max-age=300")


@router.get("/widget/v1/{version}/parlour-widget.js", dependencies=[Public])
async def widget_script_version(version: str) -> Response:
    content = widget_script_bytes()
    if version != _version(content):
        raise NotFound("no such version of the widget script")
    return _script(content, IMMUTABLE)


def _version(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()[:16]


def _script(content: bytes, cache_control: str) -> Response:
    return Response(
        content,
        media_type="text/javascript; charset=utf-8",
        headers={
            "Cache-Control": cache_control,
            # Organisations' pages, on their own origins, load this script, with an integrity
            # hash (SRI needs CORS); it is public and sent without credentials.
            "Cross-Origin-Resource-Policy": "cross-origin",
            "Access-Control-Allow-Origin": "*",
        },
    )
