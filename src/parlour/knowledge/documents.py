"""Reading each kind of source into passages: the units that are screened, stored and retrieved.

An FAQ row is one passage (its question is the title). A document is cut at its headings, and a
long section at paragraph breaks, so that a passage is about one thing and fits the embedding
model's window. Each passage says where it came from (a line, a page, a section), which is what an
administrator sees when screening holds it back.
"""

from __future__ import annotations

import io
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import nh3

from parlour.errors import InvalidInput
from parlour.knowledge.faq import clean_phrasings, parse_faq_csv
from parlour.knowledge.formats import SourceKind, UnsupportedFile, decode_text
from parlour.knowledge.graphs import Facts, read_json_graph, read_rdf
from parlour.knowledge.hiding import StyleSheet, declarations, hiding
from parlour.knowledge.models import RowError

# About 300 tokens: within MiniLM's window, and short enough to be about one thing.
PASSAGE_CHARS = 1_200
MAX_PDF_PAGES = 500


@dataclass(frozen=True, slots=True)
class Passage:
    title: str  # the FAQ question, or the document's headings down to this section
    text: str  # the answer, or the section's text
    where: str  # "line 12", "page 3", "section Fees > Cards"
    is_faq: bool = False
    phrasings: tuple[str, ...] = ()  # an FAQ's other phrasings of its question
    # Findings from the markup that the text alone no longer shows (white or tiny text, text
    # moved off-screen or clipped, whether by the element's style or the page's stylesheet).
    hidden: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Limits:
    max_passages: int
    max_field_chars: int


def read_source(
    kind: SourceKind, data: bytes, limits: Limits
) -> tuple[list[Passage], list[RowError]]:
    """The file's passages, and the problems of the parts that could not be read."""
    if kind is SourceKind.FAQ_CSV:
        rows, errors = parse_faq_csv(
            data, max_entries=limits.max_passages, max_field_chars=limits.max_field_chars
        )
        faq = [
            Passage(r.question, r.answer, f"line {r.line}", is_faq=True, phrasings=r.phrasings)
            for r in rows
        ]
        return faq, errors
    if kind is SourceKind.FAQ_JSON:
        return _faq_json(decode_text(data), limits)
    if kind in (SourceKind.GRAPH, SourceKind.TURTLE, SourceKind.JSON_LD):
        return _graph(decode_text(data), kind, limits), []
    if kind is SourceKind.PDF:
        return _bounded(_pdf(data), limits), []
    if kind is SourceKind.HTML:
        return _bounded(_html(decode_text(data)), limits), []
    text = decode_text(data)
    if kind is SourceKind.MARKDOWN:
        return _bounded(_with_markup_findings(_markdown(text), text), limits), []
    return _bounded(_sections([("", text)], "paragraph"), limits), []


def _bounded(passages: Iterable[Passage], limits: Limits) -> list[Passage]:
    kept: list[Passage] = []
    for passage in passages:
        if len(kept) == limits.max_passages:
            raise InvalidInput(f"the document has more than {limits.max_passages} passages")
        kept.append(passage)
    return kept


def _clean(value: str) -> str:
    return unicodedata.normalize("NFC", value).strip()


def _sections(sections: Iterable[tuple[str, str]], unit: str) -> Iterator[Passage]:
    """Each (title, text) section as one passage, or several cut at paragraph breaks.

    A section without a heading is titled by its own first words, never by the file's name:
    titles reach customers as citations, and file names are internal."""
    for title, text in sections:
        paragraphs = [p for p in (_clean(p) for p in re.split(r"\n\s*\n", text)) if p]
        chunk: list[str] = []
        for paragraph in paragraphs:
            for piece in _pieces(paragraph):
                if chunk and sum(len(c) + 2 for c in chunk) + len(piece) > PASSAGE_CHARS:
                    yield _passage(title, chunk, unit)
                    chunk = []
                chunk.append(piece)
        if chunk:
            yield _passage(title, chunk, unit)


def _passage(title: str, chunk: list[str], unit: str) -> Passage:
    text = "\n\n".join(chunk)
    if title.strip():
        return Passage(_clean(title), text, f"{unit} {_clean(title)}"[:200])
    first_line = text.split("\n", 1)[0]
    if len(first_line) > 80:
        first_line = first_line[:80].rsplit(" ", 1)[0] + "…"
    return Passage(first_line, text, f"{unit} at the start" if unit != "page" else unit)


def _pieces(paragraph: str) -> Iterator[str]:
    """A paragraph longer than a passage, cut at sentence ends (or hard, if it has none)."""
    while len(paragraph) > PASSAGE_CHARS:
        cut = max(paragraph.rfind(". ", 0, PASSAGE_CHARS), paragraph.rfind("\n", 0, PASSAGE_CHARS))
        cut = cut + 1 if cut > PASSAGE_CHARS // 2 else PASSAGE_CHARS
        yield paragraph[:cut].strip()
        paragraph = paragraph[cut:].strip()
    if paragraph:
        yield paragraph


_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
# Code, which Markdown shows as it is rather than rendering it.
_MARKDOWN_CODE = re.compile(r"^\s*```.*?(?:^\s*```|\Z)|`[^`\n]*`", re.DOTALL | re.MULTILINE)


def _with_markup_findings(passages: Iterable[Passage], text: str) -> Iterator[Passage]:
    """Markdown renders the HTML inside it: a passage's elements that its styles, or the file's
    `<style>` elements, hide are reported as an HTML page's are."""
    sheet = StyleSheet.of_page(_MARKDOWN_CODE.sub("", text)) if "<" in text else StyleSheet()
    for passage in passages:
        if "<" not in passage.text:
            yield passage
            continue
        reader = _HtmlSections(sheet)
        reader.feed(_MARKDOWN_CODE.sub("", passage.text))
        reader.close()
        hidden = tuple(h for _, _, found in reader.sections() for h in found)
        yield Passage(passage.title, passage.text, passage.where, hidden=hidden)


def _markdown(text: str) -> Iterator[Passage]:
    trail: list[str] = []
    sections: list[tuple[str, str]] = []
    lines: list[str] = []
    fenced = False
    for line in text.splitlines():
        fenced ^= line.lstrip().startswith("```")
        heading = None if fenced else _HEADING.match(line)
        if heading is None:
            lines.append(line)
            continue
        sections.append((" > ".join(trail), "\n".join(lines)))
        lines = []
        depth = len(heading[1])
        trail = [*trail[: depth - 1], heading[2]]
    sections.append((" > ".join(trail), "\n".join(lines)))
    return _sections(sections, "section")


def _faq_json(text: str, limits: Limits) -> tuple[list[Passage], list[RowError]]:
    """`[{"question": …, "answer": …, "phrasings": […]}, …]` (phrasings optional), or the same
    list under "faq"."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"the file is not valid JSON (line {exc.lineno}): {exc.msg}") from None
    items = document.get("faq") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise InvalidInput('an FAQ JSON file is a list of {"question", "answer"} objects')
    passages: list[Passage] = []
    errors: list[RowError] = []
    for number, item in enumerate(items, start=1):
        problem = _faq_item_problem(item, limits.max_field_chars)
        if problem:
            errors.append(RowError(number, f"item {number}: {problem}"))
            continue
        if len(passages) == limits.max_passages:
            errors.append(RowError(number, f"more than {limits.max_passages} entries"))
            break
        question, answer = _clean(item["question"]), _clean(item["answer"])
        problem, phrasings = clean_phrasings(
            item.get("phrasings", []), question, max_chars=limits.max_field_chars
        )
        if problem:
            errors.append(RowError(number, f"item {number}: {problem}"))
            continue
        passages.append(
            Passage(question, answer, f"item {number}", is_faq=True, phrasings=phrasings)
        )
    return passages, errors


def _faq_item_problem(item: Any, max_chars: int) -> str | None:
    if not isinstance(item, dict):
        return "not an object"
    for key in ("question", "answer"):
        value = item.get(key)
        if not isinstance(value, str) or not value.strip():
            return f"the {key} is missing or empty"
        if len(value) > max_chars:
            return f"the {key} is longer than {max_chars} characters"
    phrasings = item.get("phrasings", [])
    if not isinstance(phrasings, list) or not all(isinstance(p, str) for p in phrasings):
        return "the phrasings must be a list of strings"
    return None


def _graph(text: str, kind: SourceKind, limits: Limits) -> list[Passage]:
    facts = Facts(max_nodes=limits.max_passages, max_chars=limits.max_field_chars)
    if kind is SourceKind.GRAPH:
        read_json_graph(text, facts)
    else:
        read_rdf(text, "turtle" if kind is SourceKind.TURTLE else "json-ld", facts)
    return [Passage(title, body, where) for title, body, where in facts.passages()]


def _pdf(data: bytes) -> Iterator[Passage]:
    # pypdf loads with the first PDF, not with the services (the CLI's start).
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise UnsupportedFile("the PDF is encrypted; upload it without a password")
        if len(reader.pages) > MAX_PDF_PAGES:
            raise InvalidInput(f"the PDF has more than {MAX_PDF_PAGES} pages")
        pages = [(page.extract_text() or "") for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise UnsupportedFile(f"the PDF cannot be read: {exc}") from None
    title = _clean((reader.metadata.title if reader.metadata else None) or "")
    for number, text in enumerate(pages, start=1):
        for passage in _sections([(title, text)], "page"):
            yield Passage(passage.title, passage.text, f"page {number}")


# The structure a passage needs; everything else (scripts, styles' content, forms, frames,
# links' targets) is removed by the sanitiser before any text is read.
_HTML_TAGS = {
    "h1", "h2", "h3", "h4", "h5", "h6", "p", "div", "span", "section", "article", "main",
    "ul", "ol", "li", "dl", "dt", "dd", "table", "thead", "tbody", "tr", "td", "th",
    "br", "strong", "em", "b", "i", "u", "small", "font", "code", "pre", "blockquote",
}  # fmt: skip
_BLOCKS = _HTML_TAGS - {"span", "strong", "em", "b", "i", "u", "small", "font", "code", "br"}


def _html(text: str) -> Iterator[Passage]:
    # The page's stylesheets are read before the sanitiser removes them: a class they hide
    # hides its text as surely as an inline style. Comments are kept through the sanitiser only
    # to be reported where they stand.
    sheet = StyleSheet.of_page(text)
    safe = nh3.clean(
        text,
        tags=_HTML_TAGS,
        clean_content_tags={"script", "style", "title", "template", "noscript", "textarea"},
        attributes={
            "*": {"style", "hidden", "aria-hidden", "class", "id"},
            "font": {"color", "size"},
        },
        strip_comments=False,
    )
    reader = _HtmlSections(sheet)
    reader.feed(safe)
    reader.close()
    for section_title, body, hidden in reader.sections():
        for passage in _sections([(section_title, body)], "section"):
            yield Passage(passage.title, passage.text, passage.where, hidden=hidden)


class _HtmlSections(HTMLParser):
    """Text by heading, noting text that the page's own styles would hide from a reader."""

    def __init__(self, sheet: StyleSheet) -> None:
        super().__init__(convert_charrefs=True)
        self._sheet = sheet
        self._trail: list[str] = []
        self._open: list[tuple[str, str | None]] = []  # (tag, how it hides its content)
        self._heading: list[str] | None = None
        self._body: list[str] = []
        self._hidden: list[str] = []
        self._done: list[tuple[str, str, tuple[str, ...]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._body.append("\n")
            return
        values = {name: value or "" for name, value in attrs}
        self._open.append((tag, self._hiding(tag, values)))
        if tag in _BLOCKS:
            self._body.append("\n\n")
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self._finish_section()
            self._heading = []

    def _hiding(self, tag: str, values: dict[str, str]) -> str | None:
        if "hidden" in values or values.get("aria-hidden", "").lower() == "true":
            return "hidden"
        if tag == "font" and (
            values.get("color", "").lower() in ("white", "#fff", "#ffffff")
            or values.get("size", "").strip() in ("0", "1")
        ):
            return "styled to be invisible"
        styles = self._sheet.for_element(tag, values.get("class", "").split(), values.get("id"))
        return hiding(styles | declarations(values.get("style", "")))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            opened, _ = self._open.pop()
            if opened == tag:
                break
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6") and self._heading is not None:
            depth = int(tag[1])
            self._trail = [*self._trail[: depth - 1], _clean(" ".join(self._heading))]
            self._heading = None
        elif tag in _BLOCKS:
            self._body.append("\n\n")

    def handle_data(self, data: str) -> None:
        how = next((how for _, how in self._open if how), None)
        if how and data.strip():
            self._hidden.append(f"text {how}: " + _clean(data)[:60])
        if self._heading is not None:
            self._heading.append(data)
        else:
            self._body.append(data)

    def handle_comment(self, data: str) -> None:
        if data.strip():
            self._hidden.append("an HTML comment: " + _clean(data)[:60])

    def _finish_section(self) -> None:
        body = re.sub(r"[ \t]+", " ", "".join(self._body))
        if body.strip():
            title = " > ".join(t for t in self._trail if t)
            self._done.append((title, body, tuple(self._hidden)))
        self._body, self._hidden = [], []

    def sections(self) -> list[tuple[str, str, tuple[str, ...]]]:
        self._finish_section()
        return self._done
