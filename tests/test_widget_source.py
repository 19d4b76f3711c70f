"""Properties of the widget script that hold by construction, checked on its source."""

from __future__ import annotations

import re
from pathlib import Path

WIDGET = Path(__file__).resolve().parents[1] / "widget" / "src" / "parlour-widget.js"


def test_the_widget_neither_sends_nor_listens_to_post_messages() -> None:
    """T-93: no postMessage channel exists, so no token can leave by one and no foreign frame
    can drive the widget through one."""
    source = WIDGET.read_text()
    assert "postMessage" not in source
    listeners = re.findall(r"(\w+)\.addEventListener\(\s*[\"']message[\"']", source)
    assert listeners == ["socket"]  # the WebSocket's own messages, never window's


def test_the_widget_never_renders_markup() -> None:
    """T-94: text goes in through textContent or text nodes only."""
    source = WIDGET.read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in source
