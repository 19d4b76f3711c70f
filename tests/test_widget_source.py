"""Properties of the widget script that hold by construction, checked on its sources (widget/src
and the SDK it is built on) and on the script as built and served (widget/dist)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "widget" / "src").glob("*.ts")) + sorted(
    (ROOT / "sdk" / "js" / "src").glob("*.ts")
)
BUILT = ROOT / "widget" / "dist" / "parlour-widget.js"


def texts() -> list[tuple[str, str]]:
    return [(path.name, path.read_text()) for path in [*SOURCES, BUILT]]


def test_the_widget_neither_sends_nor_listens_to_post_messages() -> None:
    """T-93: no postMessage channel exists, so no token can leave by one and no foreign frame
    can drive the widget through one. The socket's own messages come through the SDK's
    `onmessage`; nothing listens for a `message` event."""
    assert SOURCES
    for name, source in texts():
        assert "postMessage" not in source, name
        assert not re.search(r"addEventListener\(\s*[\"'`]message[\"'`]", source), name
        assert "onmessage" not in source or name in {"client.ts", BUILT.name}, name


def test_the_widget_never_renders_markup() -> None:
    """T-94: text goes in through textContent or text nodes only."""
    for name, source in texts():
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in source, (name, sink)


def test_the_widget_keeps_no_token_in_storage() -> None:
    """T-107: the widget on the SDK writes only a visitor's return token, to sessionStorage (this
    tab); no localStorage, no cookie, so a customer's token stays in memory."""
    for name, source in texts():
        assert "localStorage" not in source, name
        assert "document.cookie" not in source, name
    writes = [name for name, source in texts() if "sessionStorage.setItem" in source]
    assert sorted(writes) == sorted(["chat.ts", BUILT.name])
