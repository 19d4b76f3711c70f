"""The sentences of a passage that answer a question: what the extractive answerer says when a
passage is longer than an answer should be (a document's section, a long FAQ answer).

A passage is cut into sentences and list items, where an abbreviation ("e.g.", "Dr."), an
initial, a decimal number or a numbered list's "1." does not end one, and a line break does
unless the sentence runs on in lower case. The excerpt is the run of consecutive sentences,
within EXCERPT_CHARS, that holds the most of the question's content words (parlour.words): a
word found in few of the passage's sentences weighs more than one found in many, and a sentence
holding none of them costs the run that spans it. It is then made to read on its own: a list
item brings the line that introduces it, a list's introduction its items, and a sentence that
refers back ("This…", "However…") the one before it, and the one after the excerpt when it
refers back. With no word of the question in the passage, or only words that most of its
sentences hold, as much of its beginning as fits.

Every part is the passage's own text, word for word, in the passage's order: an excerpt says
nothing its passage does not, so the output filter's support check passes it as it passes the
passage.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass

from parlour.words import content_words

WHOLE_CHARS = 600  # a passage up to this long is said whole
EXCERPT_CHARS = 400  # an excerpt's length at most, unless its one best sentence is longer
COMMON = math.log(3)  # the weight of a word in half the passage's sentences
GAP = 1.0  # what a sentence holding none of the question's words costs a run between two that do

# Words that end with a full stop without ending the sentence (compared in lower case, without
# the stop). "etc." is not among them: it ends sentences more often than not.
_ABBREVIATION_WORDS = """mr mrs ms dr prof sr jr st mt ft vs approx appx dept est incl excl min max
    e.g eg i.e ie cf a.m p.m u.s u.k u.n e.u ph.d jan feb mar apr jun jul aug sep sept oct nov
    dec mon tue tues wed thu thur thurs fri sat sun co corp inc ltd plc"""
_ABBREVIATIONS = frozenset(_ABBREVIATION_WORDS.split())
# Abbreviations that do not end a sentence when a number follows: "No. 5", "p. 12".
_NUMBER_WORDS = "no nos nr p pp fig figs vol art sec ch para tel ref"
_BEFORE_NUMBERS = frozenset(_NUMBER_WORDS.split())
_LIST_ITEM = re.compile(r"[ \t]*(?:[-*\u2022\u2013\u00b7]|\(?\d{1,3}[.)]|\(?[a-zA-Z][.)])[ \t]+\S")
# A sentence's end: stops, question or exclamation marks, then closing quotes or brackets.
_CLOSING = "\"'\u201d\u2019)]"
_END = re.compile(r"[.!?\u2026]+[" + re.escape(_CLOSING) + r"]*(?=\s)")
_OPENS_SENTENCE = re.compile(r"\s+[\"'\u201c\u2018(\[]?[A-Z0-9]")
# A sentence opening with one of these leans on the one before it.
_REFERRING_WORDS = """this that these those it its they them their there he she his her such
    however but also so then therefore thus otherwise instead likewise similarly moreover
    furthermore
    additionally hence and or nor yet still"""
_REFERS_BACK = frozenset(_REFERRING_WORDS.split())


@dataclass(frozen=True, slots=True)
class Sentence:
    start: int
    end: int
    list_item: str = ""  # a list item's kind of marker: "-", "1" or "a"; "" for none
    introduces_list: bool = False  # ends with a colon, list items after it


def excerpt(question: str, passage: str) -> str:
    """The part of `passage` that answers `question`, or the passage when it is short."""
    text = passage.strip()
    if len(text) <= WHOLE_CHARS:
        return text
    sentences = split_sentences(text)
    if len(sentences) < 2:
        return text
    first, last = _best_run(question, text, sentences)
    first, last = _made_readable(text, sentences, first, last)
    lead = _introduction(sentences, first)
    body = text[sentences[first].start : sentences[last].end]
    if lead is None:
        return body
    return f"{text[sentences[lead].start : sentences[lead].end]}\n{body}"


def split_sentences(text: str) -> list[Sentence]:
    """The sentences and list items of `text`, as spans of it, in order."""
    spans: list[Sentence] = []
    lines = _lines(text)
    for index, (start, end) in enumerate(lines):
        line = text[start:end]
        marker = _marker(line)
        cuts = [start, *(start + c for c in _cuts(line)), end]
        for a, b in itertools.pairwise(cuts):
            a, b = _trimmed(text, a, b)
            if a < b:
                item = marker if a == _trimmed(text, start, end)[0] else ""
                spans.append(Sentence(a, b, list_item=item))
        following = lines[index + 1] if index + 1 < len(lines) else None
        if (
            spans
            and text[spans[-1].start : spans[-1].end].endswith(":")
            and following is not None
            and _LIST_ITEM.match(text[following[0] : following[1]])
        ):
            spans[-1] = Sentence(spans[-1].start, spans[-1].end, spans[-1].list_item, True)
    return spans


def _marker(line: str) -> str:
    if not (match := _LIST_ITEM.match(line)):
        return ""
    sign = match.group().strip()[:2].strip("(")[:1]
    return "1" if sign.isdigit() else "a" if sign.isalpha() else "-"


def _lines(text: str) -> list[tuple[int, int]]:
    """Spans of `text` that no sentence crosses: its lines, except that a line running on in
    lower case (a sentence wrapped by its author) joins the one before."""
    spans: list[tuple[int, int]] = []
    position = 0
    for raw in text.split("\n"):
        start, end = position, position + len(raw)
        position = end + 1
        if not raw.strip():
            spans.append((start, start))  # a blank line: nothing runs across it
            continue
        runs_on = (
            spans
            and spans[-1][0] < spans[-1][1]
            and raw.lstrip()[:1].islower()
            and not _LIST_ITEM.match(raw)
            and not text[spans[-1][0] : spans[-1][1]].rstrip().endswith((".", "!", "?", ":"))
        )
        if runs_on:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return [(a, b) for a, b in spans if a < b]


def _cuts(line: str) -> list[int]:
    """Where the sentences of one line end."""
    cuts = []
    for match in _END.finditer(line):
        after = line[match.end() :]
        if not _OPENS_SENTENCE.match(after):
            continue
        if match.group().startswith(".") and match.group().rstrip(_CLOSING) == ".":
            word = re.search(r"([\w.]+)\.\Z", line[: match.start() + 1])
            token = word.group(1).lower() if word else ""
            if token in _ABBREVIATIONS:
                continue
            if token in _BEFORE_NUMBERS and after.lstrip()[:1].isdigit():
                continue
            if len(token) == 1 and token.isalpha() and after.lstrip()[:1].isupper():
                continue  # an initial: "J. Smith"
            if re.fullmatch(r"\d{1,3}", token) and not line[: match.start() - len(token)].strip():
                continue  # a numbered list's "1." at the line's start
        cuts.append(match.end())
    return cuts


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _best_run(question: str, text: str, sentences: list[Sentence]) -> tuple[int, int]:
    """The run of sentences within EXCERPT_CHARS that holds the most of the question's words,
    a word weighing more the fewer sentences hold it, less GAP for each sentence between that
    holds none; the shortest and first such. The passage's start when no sentence holds any."""
    wanted = set(content_words(question))
    words = [set(content_words(text[s.start : s.end])) & wanted for s in sentences]
    found = [w for ws in words for w in ws]
    weight = {w: math.log(1 + len(sentences) / found.count(w)) for w in set(found)}
    best: tuple[float, int, int, int] | None = None  # (-score, length, first, last)
    for first in range(len(sentences)):
        if not words[first]:
            continue  # a run starting or ending with a sentence of none of the words is worse
        covered: set[str] = set()
        gaps = 0
        for last in range(first, len(sentences)):
            length = sentences[last].end - sentences[first].start
            if last > first and length > EXCERPT_CHARS:
                break
            if not words[last]:
                gaps += 1
                continue
            covered |= words[last]
            # Summed in one order: runs holding the same words must score exactly the same.
            key = (-(sum(weight[w] for w in sorted(covered)) - GAP * gaps), length, first, last)
            if best is None or key < best:
                best = key
    # Nothing of the question, or only words most of its sentences hold ("virus" in a passage
    # about a virus): as much of the passage's beginning as fits.
    if best is None or -best[0] < COMMON:
        last = 0
        while last + 1 < len(sentences) and sentences[last + 1].end <= EXCERPT_CHARS:
            last += 1
        return 0, last
    return best[2], best[3]


def _made_readable(text: str, sentences: list[Sentence], first: int, last: int) -> tuple[int, int]:
    """The run grown so that it reads on its own, within EXCERPT_CHARS where it can."""

    def fits(a: int, b: int) -> bool:
        return sentences[b].end - sentences[a].start <= EXCERPT_CHARS

    def refers_back(index: int) -> bool:
        opening = re.match(
            r"[\W_]*([A-Za-z]+)", text[sentences[index].start : sentences[index].end]
        )
        return opening is not None and opening.group(1).lower() in _REFERS_BACK

    if first > 0 and refers_back(first) and fits(first - 1, last):
        first -= 1
    # The sentence after, when it goes on about the last one ("This stops…").
    if last + 1 < len(sentences) and refers_back(last + 1) and fits(first, last + 1):
        last += 1
    # A list's introduction at the end: with the items that fit, at least the first.
    if sentences[last].introduces_list and last + 1 < len(sentences):
        if last == first or fits(first, last + 1):
            last += 1
            while (
                last + 1 < len(sentences)
                and sentences[last + 1].list_item == sentences[last].list_item
                and fits(first, last + 1)
            ):
                last += 1
        else:
            last -= 1
    return first, last


def _introduction(sentences: list[Sentence], first: int) -> int | None:
    """The line introducing the list that the excerpt starts inside, when it is not in it."""
    if not sentences[first].list_item:
        return None
    for index in range(first - 1, -1, -1):
        if sentences[index].introduces_list:
            return index
        if not sentences[index].list_item:
            return None
    return None
