"""Every version of the widget script that ever landed stays servable at its own URL (T-92): an
organisation's embed snippet pins one version with its integrity hash, and upgrading Parlour
must not break the pages that still load it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from parlour.web import widget
from parlour.web.widget import (
    IMMUTABLE,
    widget_releases_dir,
    widget_script_bytes,
    widget_version,
    widget_version_of,
)
from tests.conftest import Stack


def test_the_current_widget_is_kept_among_the_releases() -> None:
    kept = widget_releases_dir() / f"{widget_version()}.js"
    assert kept.is_file(), "a changed widget must be kept: run scripts/freeze-widget"
    assert kept.read_bytes() == widget_script_bytes()


async def test_every_released_version_is_served_at_its_own_url_for_good(stack: Stack) -> None:
    """T-92"""
    released = sorted(widget_releases_dir().glob("*.js"))
    assert released
    async with httpx.AsyncClient(base_url=stack.url) as client:
        for path in released:
            answer = await client.get(f"/widget/v1/{path.stem}/parlour-widget.js")
            assert answer.status_code == 200, path.name
            assert answer.content == path.read_bytes()
            assert widget_version_of(answer.content) == path.stem
            assert answer.headers["cache-control"] == IMMUTABLE


async def test_an_older_version_stays_servable_and_nothing_else_is(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """T-92: an older script is served under its name; a file whose content is not the one
    its name promises, or a name that is not a version, is not."""
    older = b"/* the widget as an earlier release shipped it */\n"
    (tmp_path / f"{widget_version_of(older)}.js").write_bytes(older)
    misplaced = "0123456789abcdef"
    (tmp_path / f"{misplaced}.js").write_bytes(b"not what that name promises")
    monkeypatch.setattr(widget, "_RELEASES_DIR", tmp_path)
    async with httpx.AsyncClient(base_url=stack.url) as client:
        served = await client.get(f"/widget/v1/{widget_version_of(older)}/parlour-widget.js")
        current = await client.get(widget.widget_path())
        wrong = await client.get(f"/widget/v1/{misplaced}/parlour-widget.js")
        unknown = await client.get("/widget/v1/ffffffffffffffff/parlour-widget.js")
        traversal = await client.get("/widget/v1/..%2F..%2Fpyproject/parlour-widget.js")
    assert served.content == older
    assert served.headers["cache-control"] == IMMUTABLE
    assert current.content == widget_script_bytes()
    assert [wrong.status_code, unknown.status_code, traversal.status_code] == [404, 404, 404]
