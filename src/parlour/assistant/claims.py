"""An answer's claims and the passages they cite (issue 23, item 5).

A model given several passages is asked to cite, after each fact, the passage it came from
([k1], [k2], … the references in its prompt). What it writes is a hint, never trusted:

- A claim is a sentence (or a line) of the answer, with the references written inside it or
  right after its full stop.
- A reference to a passage the turn did not give (`[k9]`) is dropped, and counted.
- A claim is cited with the passages it names when they support it: most of its content words
  (parlour.words) are theirs (`min_citation_support`). Otherwise it is cited with the given
  passage that supports it best, if one does (the model named the wrong one, or none).
- A claim no given passage supports stays without a citation when the turn's material as a
  whole (passages, template, tool results) supports it ("Would you like to talk to a person?"),
  and is withheld from the answer when even that does not (`min_claim_support`): a sentence
  drawn from nowhere is not shown.
- A claim of fewer than MIN_WORDS content words ("Yes [k1].") cannot be judged: it keeps the
  given passages it names.

Every claim's verdict is counted (`parlour_assistant_claims_total`). The references the customer
sees are numbers, `[1]`, `[2]`, in the order passages are first cited, naming the stored
message's `citations` in that order (docs/protocol.md); a bracketed number the model or a
passage wrote itself is removed, so every one in an answer is Parlour's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from parlour.assistant.support import Support
from parlour.words import content_words

MIN_WORDS = 2
# References as the prompt names passages, with the space before them: [k1], or a group as
# models also write them, [k1, k2] or [K1; k2].
_GROUP = r"\[\s*[kK]\d{1,3}(?:\s*[,;]\s*[kK]\d{1,3})*\s*\]"
REFERENCE = re.compile(rf"[ \t]?({_GROUP})")
_REF = re.compile(r"[kK](\d{1,3})")
# A number in brackets not written by Parlour: a model's own "[1]", a document's footnote.
SHOWN_NUMBER = re.compile(r"[ \t]?\[\d{1,3}\]")
# A sentence's end (or a line's), the references written after it, and the space that follows.
_END = re.compile(
    rf"(?:[.!?…]+[\"'\u201d\u2019)]*|(?=\n))(?:[ \t]*(?:{_GROUP}|\[\d{{1,3}}\]))*(?:\s+|\Z)"
)
_BRACKETED = re.compile(rf"{_GROUP}|\[\d{{1,3}}\]")
# What may still turn out to be references after a sentence's end: only their characters and
# space (a class, not a nesting: matched in linear time).
_PENDING = re.compile(r"[\s\[\]kK\d,;]*")
_TAG = re.compile(r"</?[A-Za-z!][^<>\n]*>")


class Verdict(StrEnum):
    """What became of one claim's citation (the counter's label)."""

    CITED = "cited"  # the passages it names support it
    CORRECTED = "corrected"  # it named passages that do not; the one that does is cited
    ATTRIBUTED = "attributed"  # it named none; the passage that supports it is cited
    UNCITED = "uncited"  # no passage supports it; the turn's other material does
    WITHHELD = "withheld"  # nothing supports it: not shown
    SHORT = "short"  # too few content words to judge; keeps the given passages it names


@dataclass(frozen=True, slots=True)
class Claim:
    start: int
    end: int  # past its references and the space after it
    settled: bool  # nothing written later can change it


@dataclass(frozen=True, slots=True)
class Judgement:
    verdict: Verdict
    refs: tuple[str, ...]  # the passages it is cited with, in the order they are shown
    unknown: int  # references it wrote to passages the turn did not give


def references(text: str) -> list[str]:
    """The passages `text` refers to, in order, as the prompt names them ("k1")."""
    return [f"k{int(n[1])}" for m in REFERENCE.finditer(text) for n in _REF.finditer(m[1])]


def split(text: str, *, final: bool) -> list[Claim]:
    """The claims of `text` so far, in order; the last is settled only when `final`, or when
    another claim's words have begun after it."""
    claims: list[Claim] = []
    start = 0
    for end in _END.finditer(text):
        if end.end() <= start:
            continue
        settled = final or not _PENDING.fullmatch(text, end.end())
        claims.append(Claim(start, end.end(), settled))
        start = end.end()
        if not settled:
            return claims
    if start < len(text):
        claims.append(Claim(start, len(text), final))
    return claims


def insertion_point(text: str, claim: Claim) -> int:
    """Where a claim's citation is shown: before its full stop (the references it wrote after
    the full stop are taken out), else after its last word."""
    body = text[claim.start : claim.end].rstrip()
    while body.endswith("]"):  # the references (and numbers) it ends with, from the last
        opening = body.rfind("[")
        if opening < 0 or not _BRACKETED.fullmatch(body, opening):
            break
        body = body[:opening].rstrip()
    stop = len(body)
    while stop > 0 and body[stop - 1] in "\"'\u201d\u2019)":
        stop -= 1
    if stop > 0 and body[stop - 1] in ".!?…":
        while stop > 0 and body[stop - 1] in ".!?…":
            stop -= 1
        return claim.start + stop
    return claim.start + len(body)


class ClaimCheck:
    """Judges claims against the passages a turn gave (ref → title and text) and the rest of
    its material (`material`, all of it, passages included)."""

    def __init__(
        self,
        passages: Mapping[str, str],
        material: Support,
        *,
        min_citation_support: float = 0.5,
        min_claim_support: float = 0.3,
    ) -> None:
        self._passages = {ref: Support([text]) for ref, text in passages.items()}
        self._material = material
        self._min_citation = min_citation_support
        self._min_claim = min_claim_support

    def judge(self, claim_text: str) -> Judgement:
        written = list(dict.fromkeys(references(claim_text)))
        given = tuple(ref for ref in written if ref in self._passages)
        unknown = len(written) - len(given)
        plain = SHOWN_NUMBER.sub(" ", REFERENCE.sub(" ", _TAG.sub(" ", claim_text)))
        words = content_words(plain)
        if len(words) < MIN_WORDS:
            return Judgement(Verdict.SHORT, given, unknown)
        if given and self._share(words, given) >= self._min_citation:
            return Judgement(Verdict.CITED, given, unknown)
        best = self._best(words)
        if best is not None:
            verdict = Verdict.CORRECTED if given else Verdict.ATTRIBUTED
            return Judgement(verdict, (best,), unknown)
        _, share = self._material.measure(plain)
        verdict = Verdict.UNCITED if share >= self._min_claim else Verdict.WITHHELD
        return Judgement(verdict, (), unknown)

    def _share(self, words: list[str], refs: tuple[str, ...]) -> float:
        supported = sum(any(self._passages[r].knows(w) for r in refs) for w in words)
        return supported / len(words)

    def _best(self, words: list[str]) -> str | None:
        """The given passage that supports the claim most, if any does enough (the first of
        equals: passages come best first)."""
        best, best_share = None, self._min_citation
        for ref in self._passages:
            share = self._share(words, (ref,))
            if share >= best_share and (best is None or share > best_share):
                best, best_share = ref, share
        return best
