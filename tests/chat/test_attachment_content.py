"""What an uploaded file is, judged by its content alone, and the thumbnail made of an image
(T-102): the allowlist, polyglots, markup and bombs refused, thumbnails re-encoded small and
without metadata."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from parlour.chat.attachment_content import (
    GIF,
    JPEG,
    PDF,
    PNG,
    THUMBNAIL_EDGE,
    WEBP,
    NotAllowedContent,
    judge,
)
from tests.support import files


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (files.png(), PNG),
        (files.jpeg_with_exif(), JPEG),
        (files.gif(), GIF),
        (files.webp(), WEBP),
        (files.pdf(), PDF),
    ],
    ids=["png", "jpeg", "gif", "webp", "pdf"],
)
def test_images_and_pdf_are_allowed_by_their_content(data: bytes, expected: str) -> None:
    """T-102: each format of the allowlist, recognised from its bytes."""
    assert judge(data).content_type == expected


@pytest.mark.parametrize(
    "data",
    [
        files.SVG,
        files.HTML,
        b"MZ\x90\x00\x03\x00\x00\x00",  # a Windows executable
        b"\x7fELF\x02\x01\x01\x00",
        b"PK\x03\x04 an archive",
        b"just some text",
    ],
    ids=["svg", "html", "exe", "elf", "zip", "text"],
)
def test_t102_svg_html_executables_and_anything_else_are_refused(data: bytes) -> None:
    """T-102: whatever the name or declared type, only the content counts, and these are not
    on the allowlist (an HTML page named photo.png is still an HTML page)."""
    with pytest.raises(NotAllowedContent):
        judge(data)


@pytest.mark.parametrize(
    "data",
    [
        files.png_and_zip(),
        files.gif_and_javascript(),
        files.jpeg_and_html(),
        files.png(20, 20, text={"Comment": "<script>alert(1)</script>"}),
        files.png(20, 20) + b"trailing bytes",
    ],
    ids=["png+zip", "gif/js", "jpeg+html", "png-with-script-in-text", "png+trailer"],
)
def test_t102_polyglots_and_images_carrying_markup_are_refused(data: bytes) -> None:
    """T-102: a file that is an image and something else besides is refused."""
    with pytest.raises(NotAllowedContent):
        judge(data)


def test_a_pdf_with_javascript_is_refused() -> None:
    """T-102: a PDF's active content (JavaScript, launch actions, embedded files) is refused."""
    with pytest.raises(NotAllowedContent):
        judge(files.pdf_with_javascript())


def test_t102_a_decompression_bomb_is_refused_before_its_pixels_are_decoded() -> None:
    """T-102: a small PNG that claims 900 megapixels is refused from its header."""
    bomb = files.pixel_bomb()
    assert len(bomb) < 200_000
    with pytest.raises(NotAllowedContent, match="too large"):
        judge(bomb)


def test_t102_a_thumbnail_is_a_small_reencoded_image_without_the_originals_metadata() -> None:
    """T-102: the thumbnail fits 320 pixels, is drawn upright from the EXIF orientation, and
    carries no EXIF (the camera owner's name is gone)."""
    judged = judge(files.jpeg_with_exif("EXIFSECRET4412"))
    assert judged.thumbnail is not None
    assert judged.thumbnail_type == JPEG
    assert b"EXIFSECRET4412" not in judged.thumbnail
    with Image.open(io.BytesIO(judged.thumbnail)) as thumbnail:
        assert max(thumbnail.size) <= THUMBNAIL_EDGE
        # 800 x 400, turned by orientation 6: taller than wide.
        assert thumbnail.size[1] > thumbnail.size[0]
        assert not thumbnail.getexif()


def test_a_png_thumbnail_is_a_png_and_a_pdf_has_none() -> None:
    judged = judge(files.png(1000, 100))
    assert judged.thumbnail_type == PNG
    assert judged.thumbnail is not None
    with Image.open(io.BytesIO(judged.thumbnail)) as thumbnail:
        assert thumbnail.format == "PNG"
        assert thumbnail.size == (THUMBNAIL_EDGE, 32)
    assert judge(files.pdf()).thumbnail is None
