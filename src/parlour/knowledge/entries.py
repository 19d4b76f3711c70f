"""FAQ entries typed in the dashboard, one at a time: they live in one source of their own,
`dashboard-entries.csv`, which each new entry replaces with a copy one row longer. So an entry
typed by hand makes a new version, is screened and held back for review like any upload, and is
audited as an upload is (KnowledgeService.add_entry); nothing bypasses the upload path.

The file is rebuilt from the source's live entries, in the order they were added; the entries
still awaiting review stay in the queue as they are, moved to the new copy (so a passage the
output filter took back never goes live again by passing screening).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence

from parlour.errors import InvalidInput

SOURCE_NAME = "dashboard-entries.csv"
_LINE = re.compile(r"line (\d+)")


def grown_source(
    current: Sequence[tuple[str, str, str]], question: str, answer: str, *, max_chars: int
) -> bytes:
    """The source's CSV with one more row: `current` holds (locator, question, answer) of what
    the source has now, in any order; they keep their order (by line) and the new row comes
    last."""
    question, answer = question.strip(), answer.strip()
    if not question or not answer:
        raise InvalidInput("An entry needs a question and an answer.")
    if len(question) > max_chars or len(answer) > max_chars:
        raise InvalidInput(f"A question or answer may be at most {max_chars} characters.")
    ordered = sorted(current, key=lambda row: _line(row[0]))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["question", "answer"])
    for _, q, a in ordered:
        writer.writerow([q, a])
    writer.writerow([question, answer])
    return out.getvalue().encode()


def _line(locator: str) -> int:
    match = _LINE.fullmatch(locator)
    return int(match[1]) if match else 0
