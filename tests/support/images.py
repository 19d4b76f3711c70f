"""Small images made here, for the logo's tests: real PNG, JPEG and WebP files, and files that
pretend to be one."""

from __future__ import annotations

import io

from PIL import Image


def image_bytes(
    kind: str = "PNG", size: tuple[int, int] = (300, 200), colour: str = "#0b5d1e"
) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format=kind)
    return out.getvalue()


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(1)</script></svg>"
)
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
