"""Serving the embeddable widget script to organisations' pages.

Every version of the script that ever landed is kept in widget/releases, named by its content,
and served at its own URL for good: an organisation's embed snippet pins one version with its
integrity hash (T-92), and an upgrade of Parlour must not break the pages that still load it.
`scripts/freeze-widget` adds the current version; a test fails until it has."""

from __future__ import annotations

import base64
import hashlib
import re
from importlib import resources
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response

from parlour.errors import NotFound
from parlour.web.policy import Public

router = APIRouter(include_in_schema=False)

WIDGET_FILE = "parlour-widget.js"


def _shipped(packaged: str, checkout: str) -> Path:
    """Inside an installed wheel the files sit beside this module; in a checkout they are read
    from the widget folder."""
    folder = Path(str(resources.files("parlour.web"))) / packaged
    if folder.is_dir():
        return folder
    return Path(__file__).resolve().parents[3] / "widget" / checkout


def widget_source_dir() -> Path:
    """widget/dist: the script as built from widget/src (TypeScript, on the SDK) by
    widget/build.mjs, committed so that the server needs no Node.js; a test rebuilds it and
    compares."""
    return _shipped("widget_assets", "dist")


def widget_releases_dir() -> Path:
    """widget/releases: every version kept, as `<version>.js`."""
    return _shipped("widget_releases", "releases")


_WIDGET_DIR = widget_source_dir()
_RELEASES_DIR = widget_releases_dir()
_VERSION = re.compile(r"[0-9a-f]{16}")
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


def widget_version() -> str:
    return widget_version_of(widget_script_bytes())


def widget_version_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()[:16]


def widget_path() -> str:
    """The script's own URL path for this version of it, named by its content: the embed
    snippet loads it from here, with its integrity hash, and caches it for good."""
    return f"/widget/v1/{widget_version()}/{WIDGET_FILE}"


@router.get("/widget/v1/parlour-widget.js", dependencies=[Public])
async def widget_script() -> Response:
    """The current version, for pages that follow it without an integrity hash."""
    return _script(widget_script_bytes(), "public, max-age=300")


@router.get("/widget/v1/{version}/parlour-widget.js", dependencies=[Public])
async def widget_script_version(version: str) -> Response:
    content = widget_script_bytes()
    if version == widget_version_of(content):
        return _script(content, IMMUTABLE)
    released = _RELEASES_DIR / f"{version}.js"
    # The name is checked before it touches the file system; the content, that it is the one
    # the name promises, so a misplaced file is never served under another version's name.
    if _VERSION.fullmatch(version) and released.is_file():
        content = released.read_bytes()
        if widget_version_of(content) == version:
            return _script(content, IMMUTABLE)
    raise NotFound("no such version of the widget script")


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
