"""What an uploaded file is, decided by its bytes (T-60, T-61).

The name only states what the uploader meant; the content decides what Parlour reads, and the two
must agree: a `.pdf` that is HTML, or a `.txt` that is a PDF, is refused rather than guessed at.
Archives of every kind are refused before anything looks inside them, so no decompressor ever
runs on an upload: no zip bombs, no path escapes, no symlinks. Text must be UTF-8 without NUL.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import PurePosixPath

from parlour.errors import UnsupportedMediaType


class SourceKind(StrEnum):
    FAQ_CSV = "faq_csv"
    FAQ_JSON = "faq_json"
    MARKDOWN = "markdown"
    TEXT = "text"
    HTML = "html"
    PDF = "pdf"
    GRAPH = "graph"  # a knowledge graph: JSON nodes and edges
    TURTLE = "turtle"  # a knowledge graph in RDF
    JSON_LD = "json_ld"


class UnsupportedFile(UnsupportedMediaType):
    code = "unsupported_file"
    default_message = "This kind of file cannot be uploaded."


_ARCHIVES = (
    (b"PK\x03\x04", "a ZIP archive (including .docx, .xlsx and .jar)"),
    (b"PK\x05\x06", "a ZIP archive"),
    (b"PK\x07\x08", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x28\xb5\x2f\xfd", "a zstd archive"),
)
_OTHER_BINARIES = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x7fELF", "an executable"),
    (b"MZ", "a Windows executable"),
    (b"\xd0\xcf\x11\xe0", "an old Office document"),
)
_PDF_MAGIC = b"%PDF-"
# A PDF that is also a ZIP (its end-of-directory record) is a polyglot: refused, not unpacked.
_ZIP_DIRECTORY = b"PK\x05\x06"
# Active content a text-only reading would ignore, but that no knowledge document needs.
_PDF_ACTIVE = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFiles?|RichMedia|XFA)\b")
_LOOKS_LIKE_HTML = re.compile(rb"^\s*(<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>])", re.I)

_EXTENSIONS = {
    ".csv": SourceKind.FAQ_CSV,
    ".json": SourceKind.FAQ_JSON,  # or a graph; the content says which
    ".md": SourceKind.MARKDOWN,
    ".markdown": SourceKind.MARKDOWN,
    ".txt": SourceKind.TEXT,
    ".html": SourceKind.HTML,
    ".htm": SourceKind.HTML,
    ".pdf": SourceKind.PDF,
    ".ttl": SourceKind.TURTLE,
    ".jsonld": SourceKind.JSON_LD,
}
ACCEPTED = ", ".join(sorted(_EXTENSIONS))


def identify(name: str, data: bytes) -> SourceKind:
    """The kind of `data`, which must be what its `name` says it is."""
    declared = _EXTENSIONS.get(PurePosixPath(name.lower()).suffix)
    if declared is None:
        raise UnsupportedFile(f"upload one of these types: {ACCEPTED}")
    _refuse_archives_and_binaries(data)
    head = data[:1024]
    if _PDF_MAGIC in head:
        if declared is not SourceKind.PDF:
            raise UnsupportedFile(f"{name!r} is a PDF, not what its name says")
        if _ZIP_DIRECTORY in data:
            raise UnsupportedFile("the PDF is also a ZIP archive; upload a plain PDF")
        if match := _PDF_ACTIVE.search(data):
            raise UnsupportedFile(
                f"the PDF carries active content ({match[1].decode()}); upload a plain PDF"
            )
        return SourceKind.PDF
    if declared is SourceKind.PDF:
        raise UnsupportedFile(f"{name!r} is not a PDF")
    decode_text(data)
    if declared is not SourceKind.HTML and _LOOKS_LIKE_HTML.match(data.lstrip(b"\xef\xbb\xbf")):
        raise UnsupportedFile(f"{name!r} is an HTML page; upload it with a .html name")
    if declared is SourceKind.FAQ_JSON and re.search(rb'"nodes"\s*:', data[:4096]):
        return SourceKind.GRAPH
    return declared


def decode_text(data: bytes) -> str:
    if b"\x00" in data:
        raise UnsupportedFile("the file contains NUL bytes; it is not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnsupportedFile(f"the file is not UTF-8 text (byte {exc.start})") from None


def _refuse_archives_and_binaries(data: bytes) -> None:
    for magic, what in _ARCHIVES:
        if data.startswith(magic):
            raise UnsupportedFile(f"the file is {what}; archives are not accepted")
    if len(data) > 262 and data[257:262] == b"ustar":
        raise UnsupportedFile("the file is a tar archive; archives are not accepted")
    for magic, what in _OTHER_BINARIES:
        if data.startswith(magic):
            raise UnsupportedFile(f"the file is {what}, not a document")
