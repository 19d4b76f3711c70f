"""Reading an FAQ file: CSV with a `question,answer` header, and optionally a `phrasings` column
(other ways customers ask the question, separated by `|` or line breaks). A bad row is reported
with its line and skipped; the good rows still count. And writing one, CSV or JSON, from rows
(`faq_file`): how the dashboard's editor makes a source's next copy."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from parlour.errors import InvalidInput
from parlour.knowledge.formats import SourceKind, decode_text
from parlour.knowledge.models import RowError

MAX_PHRASINGS = 20  # per entry
PHRASINGS_SEPARATOR = "|"
_SEPARATORS = re.compile(r"[|\n]")


@dataclass(frozen=True, slots=True)
class FaqRow:
    question: str
    answer: str
    line: int = 0
    phrasings: tuple[str, ...] = ()


def clean_phrasings(
    values: Iterable[str], question: str, *, max_chars: int
) -> tuple[str | None, tuple[str, ...]]:
    """An entry's phrasings as kept: trimmed, without blanks, repeats or the question itself;
    or why they cannot be (too many, too long)."""
    seen = {question.casefold()}
    kept: list[str] = []
    for value in values:
        phrasing = _clean(value)
        if not phrasing or phrasing.casefold() in seen:
            continue
        if len(phrasing) > max_chars:
            return f"a phrasing is longer than {max_chars} characters", ()
        seen.add(phrasing.casefold())
        kept.append(phrasing)
    if len(kept) > MAX_PHRASINGS:
        return f"an entry may have at most {MAX_PHRASINGS} phrasings", ()
    return None, tuple(kept)


def split_phrasings(cell: str) -> list[str]:
    """A `phrasings` cell's phrasings: separated by `|` or line breaks."""
    return _SEPARATORS.split(cell)


def parse_faq_csv(
    data: bytes, *, max_entries: int, max_field_chars: int
) -> tuple[list[FaqRow], list[RowError]]:
    text = decode_text(data)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise InvalidInput(f"the file is not valid CSV: {exc}") from None
    columns = [c.strip().lower() for c in header or []]
    if len(columns) == 1 and {"question", "answer"} <= set(map(str.strip, columns[0].split(";"))):
        # What some spreadsheet programs save as "CSV" where the decimal mark is a comma.
        raise InvalidInput(
            "line 1: the columns are separated by semicolons; save the file as CSV with commas "
            "(comma-separated values)"
        )
    if "question" not in columns or "answer" not in columns:
        raise InvalidInput("the first row must name the columns, including question and answer")
    q_at, a_at = columns.index("question"), columns.index("answer")
    p_at = columns.index("phrasings") if "phrasings" in columns else None

    rows: list[FaqRow] = []
    errors: list[RowError] = []
    while True:
        line = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(RowError(line, f"not valid CSV: {exc}"))
            break
        if not any(cell.strip() for cell in record):
            continue
        problem, row = _row(record, (q_at, a_at, p_at), max_field_chars, reader.line_num)
        if problem:
            errors.append(RowError(reader.line_num, problem))
        elif row is not None:
            if len(rows) >= max_entries:
                errors.append(RowError(reader.line_num, f"more than {max_entries} entries"))
                break
            rows.append(row)
    return rows, errors


def _row(
    record: list[str], at: tuple[int, int, int | None], max_chars: int, line: int
) -> tuple[str | None, FaqRow | None]:
    q_at, a_at, p_at = at
    if len(record) <= max(q_at, a_at):
        return "the row has too few columns", None
    question = _clean(record[q_at])
    answer = _clean(record[a_at])
    if not question:
        return "the question is empty", None
    if not answer:
        return "the answer is empty", None
    if len(question) > max_chars or len(answer) > max_chars:
        return f"a field is longer than {max_chars} characters", None
    cell = record[p_at] if p_at is not None and p_at < len(record) else ""
    problem, phrasings = clean_phrasings(split_phrasings(cell), question, max_chars=max_chars)
    if problem:
        return problem, None
    return None, FaqRow(question, answer, line, phrasings)


def _clean(value: str) -> str:
    return unicodedata.normalize("NFC", value).strip()


def faq_file(kind: SourceKind, rows: Iterable[FaqRow]) -> bytes:
    """An FAQ source holding `rows` in their order, as CSV (`question,answer,phrasings`) or as
    JSON (a list of `{"question", "answer", "phrasings"}`): what reading it gives back."""
    if kind is SourceKind.FAQ_JSON:
        items = [
            {"question": row.question, "answer": row.answer}
            | ({"phrasings": list(row.phrasings)} if row.phrasings else {})
            for row in rows
        ]
        return (json.dumps(items, ensure_ascii=False, indent=1) + "\n").encode()
    if kind is not SourceKind.FAQ_CSV:
        raise ValueError(f"not an FAQ kind: {kind}")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["question", "answer", "phrasings"])
    for row in rows:
        writer.writerow([row.question, row.answer, PHRASINGS_SEPARATOR.join(row.phrasings)])
    return out.getvalue().encode()
