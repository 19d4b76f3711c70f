"""An organisation's widget logo: an uploaded image judged by its content, never by its name or
declared type, and remade on the server (T-109).

Only PNG, JPEG and WebP are taken, recognised by their first bytes; anything else (SVG, HTML,
a PDF named logo.png) is refused before Pillow sees it. Pillow then decodes it with that one
format's decoder, within a pixel budget (no decompression bomb), and the picture is drawn anew
as a PNG of at most 128 px a side with no metadata: whatever else the file carried (a script
after the image's end, a polyglot's other reading, EXIF) is not in what is stored or served.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from PIL import Image

from parlour.errors import PayloadTooLarge, UnsupportedMediaType

MAX_LOGO_BYTES = 256 * 1024
LOGO_SIDE = 128
# The largest picture decoded at all (pixels); a logo is small, a bomb is not.
MAX_PIXELS = 4096 * 4096


class LogoNotAnImage(UnsupportedMediaType):
    code = "logo_not_an_image"
    default_message = "A logo is a PNG, JPEG or WebP image (SVG is not taken)."


@dataclass(frozen=True, slots=True)
class Logo:
    png: bytes
    digest: str  # sha256 of `png`, hex: its public URL's name


def sniffed(data: bytes) -> str | None:
    """The image format the bytes start with, as Pillow names it, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def remade(data: bytes) -> Logo:
    """The uploaded logo as a small PNG, or LogoNotAnImage / PayloadTooLarge."""
    if len(data) > MAX_LOGO_BYTES:
        raise PayloadTooLarge(
            f"A logo may be at most {MAX_LOGO_BYTES // 1024} KB.",
            details={"limit_bytes": MAX_LOGO_BYTES},
        )
    kind = sniffed(data)
    if kind is None:
        raise LogoNotAnImage()
    try:
        with Image.open(io.BytesIO(data), formats=[kind]) as image:
            width, height = image.size
            if width < 1 or height < 1 or width * height > MAX_PIXELS:
                raise LogoNotAnImage("The logo's picture is too large; use one under 4096 px.")
            image.load()
            picture = image.convert("RGBA")
    except LogoNotAnImage:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as broken:
        raise LogoNotAnImage("The logo could not be read as a PNG, JPEG or WebP image.") from broken
    picture.thumbnail((LOGO_SIDE, LOGO_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=True)
    png = out.getvalue()
    return Logo(png, hashlib.sha256(png).hexdigest())
