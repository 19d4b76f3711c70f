"""What an upload is, decided by its bytes: spoofed types, binaries and archives are refused
before anything reads them (T-60, T-61)."""

from __future__ import annotations

import gzip

import pytest

from parlour.knowledge.formats import SourceKind, UnsupportedFile, identify
from tests.support.documents import pdf, tar_archive, zip_archive


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("faq.csv", b"question,answer\nWhy?,Because.\n", SourceKind.FAQ_CSV),
        ("faq.json", b'[{"question": "Why?", "answer": "Because."}]', SourceKind.FAQ_JSON),
        ("graph.json", b'{"nodes": [], "edges": []}', SourceKind.GRAPH),
        ("graph.ttl", b"@prefix ex: <https://x.example/> .\nex:a ex:b ex:c .\n", SourceKind.TURTLE),
        ("graph.jsonld", b'{"@context": {}, "@id": "https://x.example/a"}', SourceKind.JSON_LD),
        ("guide.md", b"# Cards\nBlocked at once.\n", SourceKind.MARKDOWN),
        ("notes.txt", b"Open at nine.\n", SourceKind.TEXT),
        ("page.html", b"<!doctype html><p>Open at nine.</p>", SourceKind.HTML),
        ("terms.pdf", pdf("Terms"), SourceKind.PDF),
        ("Terms.PDF", pdf("Terms"), SourceKind.PDF),
    ],
)
def test_each_supported_file_is_recognised_by_its_content(
    name: str, data: bytes, kind: SourceKind
) -> None:
    assert identify(name, data) is kind


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("terms.pdf", b"<html><script>alert(1)</script></html>", "is not a PDF"),
        ("notes.txt", pdf("Terms"), "is a PDF"),
        ("notes.txt", b"<!DOCTYPE html><html><body>hi</body></html>", "is an HTML page"),
        ("faq.csv", b"question,answer\nWhy?\x00,Because.\n", "NUL"),
        ("notes.txt", "Open at nine".encode("utf-16"), "NUL"),
        ("notes.txt", b"Caf\xe9 opens at nine", "not UTF-8"),
        ("notes.txt", b"\x89PNG\r\n\x1a\n....", "PNG image"),
        ("notes.txt", b"\x7fELF\x02\x01\x01", "executable"),
        ("tool.exe", b"MZ\x90\x00", "upload one of these types"),
        ("macro.docx", zip_archive({"word/document.xml": b"<w/>"}), "upload one of these types"),
    ],
)
def test_a_file_that_is_not_what_its_name_says_is_refused(
    name: str, data: bytes, message: str
) -> None:
    """T-60: a .pdf holding HTML, a .txt holding a PDF or NUL bytes, binaries."""
    with pytest.raises(UnsupportedFile, match=message):
        identify(name, data)


def test_a_pdf_that_is_also_a_zip_archive_is_refused() -> None:
    """T-60: PDF/ZIP polyglots are refused, not unpacked."""
    polyglot = pdf("Terms") + zip_archive({"payload.html": b"<script>alert(1)</script>"})
    with pytest.raises(UnsupportedFile, match="also a ZIP archive"):
        identify("terms.pdf", polyglot)


def test_a_pdf_carrying_javascript_or_embedded_files_is_refused() -> None:
    scripted = pdf("Terms", extra=b"9 0 obj\n<< /S /JavaScript /JS (app.alert(1)) >>\nendobj\n")
    with pytest.raises(UnsupportedFile, match="active content"):
        identify("terms.pdf", scripted)


@pytest.mark.parametrize(
    "archive",
    [
        # 42.zip-style: a tiny archive that would expand a thousandfold.
        zip_archive({"bomb.txt": b"0" * 5_000_000}),
        zip_archive({f"{i}.txt": b"x" for i in range(10_000)}),
        zip_archive({"../../etc/cron.d/evil": b"* * * * * root sh"}),
        tar_archive({"../../etc/passwd": b"root::0:0::/:/bin/sh"}),
        gzip.compress(b"question,answer\nWhy?,Because.\n"),
    ],
    ids=["ratio-bomb", "ten-thousand-entries", "zip-slip", "tar-slip", "gzip"],
)
@pytest.mark.parametrize("name", ["faq.csv", "notes.txt", "faq.json"])
def test_archives_are_refused_before_anything_is_extracted(archive: bytes, name: str) -> None:
    """T-61: no decompressor ever runs on an upload, whatever the name says."""
    with pytest.raises(UnsupportedFile, match="archive"):
        identify(name, archive)
