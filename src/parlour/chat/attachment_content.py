"""What an uploaded file is, judged by its content alone (T-102): never by its name or by the
type a client declared.

The allowlist: PNG, JPEG, WebP and GIF images, and PDF. A file is one of them when
- its first bytes are that format's signature;
- its structure ends where the format says it ends: nothing follows a PNG's `IEND`, a GIF's
  trailer, a JPEG's last `EOI` (but padding), a WebP's RIFF length or a PDF's last `%%EOF` (but
  line ends), so a second file riding after the first (a PNG+ZIP, a GIF/JS, a JPEG+HTML) is
  refused;
- nothing in it reads as markup a browser or a reader could run (`<script`, `<html`, `<svg`,
  `<!doctype`, `<iframe`, `<?xml`, `javascript:`), and it is no ZIP archive (whose directory sits
  at the end, where an image's structure would not look);
- an image decodes with Pillow as the format its signature names, within a pixel budget
  (decompression bombs); a PDF opens with pypdf and holds no JavaScript, launch action or
  embedded file.

Everything else (SVG, HTML, executables, archives, an HTML page named `.png`) is refused.

An image's thumbnail is made here: decoded, turned upright by its EXIF orientation, scaled to
fit `THUMBNAIL_EDGE` pixels, and re-encoded as a new PNG (or JPEG for photographs) that carries
no metadata at all (EXIF, text chunks, ICC profiles, comments). The original image is never
rendered by Parlour: it is served only as a download.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
import zipfile
from dataclasses import dataclass

from PIL import Image, ImageOps
from pypdf import PdfReader
from pypdf.errors import PyPdfError

from parlour.errors import UnsupportedMediaType

THUMBNAIL_EDGE = 320
# At most so many pixels are decoded (a 40-megapixel photograph passes; a 1x1 PNG that claims
# to be 100,000 pixels square does not), checked from the header before any pixel is.
MAX_PIXELS = 40_000_000

PNG = "image/png"
JPEG = "image/jpeg"
WEBP = "image/webp"
GIF = "image/gif"
PDF = "application/pdf"
ALLOWED = (PNG, JPEG, WEBP, GIF, PDF)
IMAGES = (PNG, JPEG, WEBP, GIF)
_PILLOW_FORMAT = {PNG: "PNG", JPEG: "JPEG", WEBP: "WEBP", GIF: "GIF"}

# Markup that a browser (or a viewer with a scripting engine) might run if it ever took the
# bytes for a page: none of it belongs in an image or a plain document.
# Each pattern is long enough that compressed image data holds one by chance about once in
# ten thousand files of 10 MB.
_MARKUP = re.compile(
    rb"<(script|html|!doctype|iframe|object|embed|\?xml)|<(svg|body)[\s>/]|javascript:",
    re.IGNORECASE,
)
# A PDF's active content: refused, since a download may be opened by any reader.
_PDF_ACTIVE = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFile|RichMedia|XFA)\b")


class NotAllowedContent(UnsupportedMediaType):
    code = "attachment_type_refused"
    default_message = "Only PNG, JPEG, WebP and GIF images and PDF documents can be attached."


@dataclass(frozen=True, slots=True)
class Judged:
    """What a file was found to be, and its thumbnail (images only)."""

    content_type: str
    thumbnail: bytes | None = None
    thumbnail_type: str | None = None


def judge(data: bytes) -> Judged:
    """The file's type by its content, and an image's thumbnail; `NotAllowedContent` for
    anything not on the allowlist, or that is also something else."""
    content_type = _signature(data)
    if content_type is None:
        raise NotAllowedContent()
    if _MARKUP.search(data) is not None:
        raise NotAllowedContent("The file holds markup or script; it cannot be attached.")
    if _is_zip(data):
        raise NotAllowedContent("The file is also an archive; it cannot be attached.")
    if content_type == PDF:
        _check_pdf(data)
        return Judged(PDF)
    _check_ends(content_type, data)
    thumbnail, thumbnail_type = _thumbnail(content_type, data)
    return Judged(content_type, thumbnail, thumbnail_type)


def _signature(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if data.startswith(b"%PDF-"):
        return PDF
    return None


def _is_zip(data: bytes) -> bool:
    if b"PK\x05\x06" not in data[-(65_536 + 22) :]:
        return False
    return zipfile.is_zipfile(io.BytesIO(data))


def _refuse_rest(data: bytes, end: int) -> None:
    """Nothing but padding may follow where the format ends."""
    if data[end:].strip(b"\x00\xff\r\n\t ") != b"":
        raise NotAllowedContent("Something follows the end of the file; it cannot be attached.")


def _check_ends(content_type: str, data: bytes) -> None:
    try:
        if content_type == PNG:
            _refuse_rest(data, _png_end(data))
        elif content_type == GIF:
            _refuse_rest(data, _gif_end(data))
        elif content_type == JPEG:
            _refuse_rest(data, _jpeg_end(data))
        else:
            (length,) = struct.unpack_from("<I", data, 4)
            _refuse_rest(data, 8 + length + (length & 1))
    except (struct.error, IndexError, ValueError) as broken:
        raise NotAllowedContent("The image is damaged; it cannot be attached.") from broken


def _png_end(data: bytes) -> int:
    at = 8
    while True:
        length: int = struct.unpack_from(">I", data, at)[0]
        kind = data[at + 4 : at + 8]
        at += 12 + length
        if at > len(data):
            raise ValueError("a chunk runs past the end")
        if kind == b"IEND":
            return at


def _gif_end(data: bytes) -> int:
    flags = data[10]
    at = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    while True:
        block = data[at]
        if block == 0x3B:  # the trailer
            return at + 1
        if block == 0x21:  # an extension: its label, then sub-blocks
            at = _skip_sub_blocks(data, at + 2)
        elif block == 0x2C:  # an image: its descriptor, a local colour table, LZW data
            local = data[at + 9]
            at += 10 + (3 * 2 ** ((local & 7) + 1) if local & 0x80 else 0)
            at = _skip_sub_blocks(data, at + 1)
        else:
            raise ValueError("not a GIF block")


def _skip_sub_blocks(data: bytes, at: int) -> int:
    while True:
        size = data[at]
        at += 1 + size
        if size == 0:
            return at
        if at > len(data):
            raise ValueError("a block runs past the end")


def _jpeg_end(data: bytes) -> int:
    """Just past the last image's `EOI`, walking segments and skipping entropy-coded data."""
    at, end = 2, len(data)
    while at < end:
        if data[at] != 0xFF:
            raise ValueError("not a JPEG marker")
        marker = data[at + 1]
        if marker == 0xFF:  # fill
            at += 1
            continue
        if marker == 0xD9:  # EOI
            return at + 2
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            at += 2
            continue
        (length,) = struct.unpack_from(">H", data, at + 2)
        at += 2 + length
        if marker == 0xDA:  # start of scan: entropy-coded data up to the next real marker
            while True:
                at = data.index(b"\xff", at)
                following = data[at + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
                    at += 1 if following == 0xFF else 2
                    continue
                break
    raise ValueError("no end of image")


def _check_pdf(data: bytes) -> None:
    end = data.rfind(b"%%EOF")
    if end < 0:
        raise NotAllowedContent("The PDF has no end; it cannot be attached.")
    _refuse_rest(data, end + len(b"%%EOF"))
    if _PDF_ACTIVE.search(data) is not None:
        raise NotAllowedContent("The PDF holds scripts or embedded files; it cannot be attached.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted or len(reader.pages) < 1:
                raise NotAllowedContent("The PDF is encrypted or empty; it cannot be attached.")
            for page in reader.pages:
                if "/AA" in page or "/JS" in page:
                    raise NotAllowedContent("The PDF holds scripts; it cannot be attached.")
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as broken:
        raise NotAllowedContent("The PDF cannot be read; it cannot be attached.") from broken


def _thumbnail(content_type: str, data: bytes) -> tuple[bytes, str]:
    """A new small PNG or JPEG drawn from the decoded image, without any of its metadata."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[_PILLOW_FORMAT[content_type]]) as image:
                width, height = image.size
                if width < 1 or height < 1 or width * height > MAX_PIXELS:
                    raise NotAllowedContent(
                        "The image is too large to show; it cannot be attached."
                    )
                image.load()
                upright = ImageOps.exif_transpose(image) or image
                opaque = content_type == JPEG or (
                    upright.mode in ("RGB", "L") and "transparency" not in upright.info
                )
                small = upright.convert("RGB" if opaque else "RGBA")
                small.thumbnail((THUMBNAIL_EDGE, THUMBNAIL_EDGE))
                out = io.BytesIO()
                if opaque and content_type == JPEG:
                    small.save(out, format="JPEG", quality=80, optimize=True)
                    return out.getvalue(), JPEG
                small.save(out, format="PNG", optimize=True)
                return out.getvalue(), PNG
    except NotAllowedContent:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as bomb:
        raise NotAllowedContent("The image is too large to show; it cannot be attached.") from bomb
    except (OSError, ValueError, SyntaxError, struct.error, EOFError) as broken:
        raise NotAllowedContent("The image cannot be decoded; it cannot be attached.") from broken
