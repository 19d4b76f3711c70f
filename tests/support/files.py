"""Files for attachment tests: real images and documents made here, and hostile ones."""

from __future__ import annotations

import io
import zipfile

from PIL import Image
from pypdf import PdfWriter


def png(width: int = 640, height: int = 480, *, text: dict[str, str] | None = None) -> bytes:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 90)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def jpeg_with_exif(marker: str = "EXIFSECRET4412") -> bytes:
    """A JPEG photograph whose EXIF names a camera owner (`marker`), turned by orientation 6."""
    image = Image.new("RGB", (800, 400), (10, 120, 200))
    exif = Image.Exif()
    exif[0x013B] = marker  # Artist
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to show
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes(), quality=85)
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (40, 30), 3).save(out, format="GIF")
    return out.getvalue()


def webp() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (50, 50), (0, 255, 0, 128)).save(out, format="WEBP")
    return out.getvalue()


def pdf(text_marker: str | None = None) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    if text_marker is not None:
        writer.add_metadata({"/Title": text_marker})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_with_javascript() -> bytes:
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    action = DictionaryObject(
        {
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.alert('hi');"),
        }
    )
    writer._root_object[NameObject("/OpenAction")] = action
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.domain)</script></svg>"
)
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def png_and_zip() -> bytes:
    """A PNG with a ZIP archive appended: an image to a browser, an archive to an unzipper."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("payload.html", "<p>hi</p>")
    return png(20, 20) + archive.getvalue()


def gif_and_javascript() -> bytes:
    """The classic GIF/JS polyglot: a GIF header that is also the start of a JS comment, and
    script after the trailer."""
    return b"GIF89a/*\x00\x00\x00\x00\x00\x00;*/=1;alert(document.domain);"


def jpeg_and_html() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20)).save(out, format="JPEG")
    return out.getvalue() + b"<html><script>alert(1)</script></html>"


def pixel_bomb() -> bytes:
    """A small PNG whose header claims 30,000 x 30,000 pixels (900 megapixels)."""
    out = io.BytesIO()
    Image.new("1", (30_000, 30_000)).save(out, format="PNG")
    return out.getvalue()
