"""Every answer passes this filter before any of it leaves (T-67, T-70, T-71).

- The tenant's canary (a secret marker in the system prompt) in the output means the model is
  reciting its instructions: the whole answer is blocked.
- An answer its material does not support (parlour.assistant.support) means the model was
  talked into another task (T-68): blocked too. Nothing is released before PROBE_WORDS content
  words can be judged, and the share is judged again at every release.
- An answer that asks the customer for a secret (PIN, passcode, password, one-time code, CVV,
  card number) or tells them to send data to an address or URL (parlour.solicitation) is
  blocked whole, whoever wrote it: a model, or knowledge that passed screening and is recited
  word for word (issue 19). Addresses under the organisation's own hosts (its allowlisted
  origins) are the exception. The sentence under way is held back while it could still become
  such a request.
- Sensitive values (parlour.sensitive) are redacted, except those the turn may show: values in
  the retrieved knowledge (the organisation published them) and the verified user's own details.
- Markdown images, raw HTML and links to anything but http(s) are reduced to their text, so an
  answer cannot make the widget fetch a URL carrying data, or run script.
- Citation markers ([k1]) are taken out of the text and reported: citations are built from the
  retrieved passages they name, never from links the model writes. With a claim check
  (parlour.assistant.claims: a generative model's answer), each sentence is released only once
  it is whole, with its references checked and shown as numbers, [1], [2], in the order the
  passages are first cited (`cited`); a sentence nothing supports is withheld. A bracketed
  number not written by Parlour is removed in every answer.
- A degenerate answer (parlour.assistant.degenerate: a loop, the question echoed, nothing said),
  when the turn asks for that judgement, is stopped like a blocked one, but as `degenerate_by`:
  not an attack, and the turn answers with the passage instead. Judged after the checks above,
  so a looping answer that is also off its material is still blocked as such.

Streaming: text is released only up to a point no later text can change. A tail of HOLD
characters is kept back (longer than a canary, a spaced card number or an IBAN), as are an
unfinished link or tag and the word under way; no edit may straddle the release point.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from parlour import sensitive, solicitation
from parlour.assistant.claims import (
    REFERENCE,
    SHOWN_NUMBER,
    ClaimCheck,
    Judgement,
    Verdict,
    insertion_point,
    references,
    split,
)
from parlour.assistant.degenerate import Degeneration
from parlour.assistant.support import Support

HOLD = 48
PROBE_WORDS = 6
_LABELS = {
    "secret": "[credential removed]",
    "email": "[e-mail removed]",
    "card": "[card number removed]",
    "iban": "[account number removed]",
    "aadhaar": "[Aadhaar number removed]",
    "ssn": "[SSN removed]",
    "ni_number": "[NI number removed]",
    "pan": "[PAN removed]",
    "ifsc": "[IFSC removed]",
    "phone": "[phone number removed]",
}
# A link's target may hold one level of parentheses: javascript:alert(1).
_TARGET = r"\(\s*((?:[^()\s]|\([^()\n]*\))*)(?:[^()\n]|\([^()\n]*\))*\)"
_IMAGE = re.compile(r"!\[([^\]\n]*)\]" + _TARGET)
_LINK = re.compile(r"\[([^\]\n]*)\]" + _TARGET)
_AUTOLINK = re.compile(r"<\s*(?:javascript|data|vbscript|file):[^>\n]*>", re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z!][^<>\n]*>")
_BARE_SCRIPT_URL = re.compile(r"\b(?:javascript|vbscript|data):\S*", re.IGNORECASE)
# What may still grow into a link, image or tag at the end of the text so far.
_UNFINISHED = re.compile(r"(!?\[[^\]\n]*(\](\([^)\n]*)?)?|<[^<>\n]*)\Z")


def _last_space(text: str) -> int:
    return max(text.rfind(" "), text.rfind("\n"))


@dataclass(frozen=True, slots=True)
class _Edit:
    start: int
    end: int
    replacement: str
    # A claim's citation: shown as the numbers of these passages (none: taken out).
    refs: tuple[str, ...] | None = None
    first: bool = False  # over overlapping edits: a withheld claim


def _numbers(refs: tuple[str, ...], numbering: dict[str, int]) -> str:
    for ref in refs:
        numbering.setdefault(ref, len(numbering) + 1)
    return " " + "".join(f"[{numbering[ref]}]" for ref in refs) if refs else ""


def normalised(value: str) -> str:
    """A value as compared for permission: case, spacing, punctuation and a phone number's
    optional trunk prefix, +44 (0)20…, do not matter."""
    value = unicodedata.normalize("NFKC", value).replace("(0)", "")
    return re.sub(r"[\W_]", "", value).casefold()


def shown_values(texts: Iterable[str]) -> set[str]:
    """The sensitive values in texts the turn is entitled to repeat."""
    return {normalised(span.value) for text in texts for span in sensitive.find(text)}


class OutputFilter:
    def __init__(
        self,
        canary: str,
        allowed: set[str],
        citable: Iterable[str] = (),
        *,
        support: Support | None = None,
        min_support: float = 0.0,
        own_hosts: Iterable[str] = (),
        degeneration: Degeneration | None = None,
        claims: ClaimCheck | None = None,
    ) -> None:
        self._canary = normalised(canary)
        self._own_hosts = tuple(own_hosts)
        self._allowed = set(allowed)
        self._citable = set(citable)
        self._support = support if min_support > 0 else None
        self._min_support = min_support
        self._degeneration = degeneration
        self._claims = claims
        # Each settled claim's verdict, and where its citation is shown (judged once).
        self._judged: dict[tuple[int, int], tuple[Judgement, int]] = {}
        self._unsettled: int | None = None  # where the claim still being written starts
        self._raw = ""
        self._released = 0  # characters of the raw text already filtered and released
        # Why the answer was stopped, as the security event that reports it.
        self.blocked_by: str | None = None
        self.request: solicitation.Request | None = None  # what it asked, when that was why
        self.degenerate_by: str | None = None  # how the answer degenerated, when it did
        self.cited: list[str] = []
        self.redacted: list[str] = []  # the kinds removed, for the turn's record

    def feed(self, text: str) -> str:
        """Filtered text that is now safe to release (maybe empty)."""
        self._raw += text
        return self._release(final=False)

    def finish(self) -> str:
        return self._release(final=True)

    @property
    def blocked(self) -> bool:
        return self.blocked_by is not None

    @property
    def stopped(self) -> bool:
        """Blocked, or degenerate: nothing more of the answer will be released."""
        return self.blocked or self.degenerate_by is not None

    def allow(self, text: str) -> None:
        """Let the answer repeat the sensitive values in `text`, and draw on its words (a
        tool's result about the verified user)."""
        self._allowed |= shown_values([text])
        if self._support is not None:
            self._support.add(text)

    def _release(self, *, final: bool) -> str:
        if self.stopped:
            return ""
        if self._canary and self._canary in normalised(self._raw):
            self.blocked_by = "canary_in_answer"
            return ""
        # The word under way may be half an address ("help@shop.ex…"): judged once whole.
        judged = self._raw if final else self._raw[: _last_space(self._raw) + 1]
        if requests := solicitation.find(judged, allowed_hosts=self._own_hosts):
            self.request = requests[0]
            self.blocked_by = self.request.kind
            return ""
        if self._support is not None:
            # Judged on what would be shown: a tag the filter removes is no content.
            words, share = self._support.measure(_TAG.sub(" ", self._raw))
            if share < self._min_support and (final or words >= PROBE_WORDS):
                self.blocked_by = "unsupported_answer"
                return ""
            if words < PROBE_WORDS and not final:
                return ""
        if self._degeneration is not None:
            self.degenerate_by = self._degeneration.judge(self._raw, final=final)
            if self.degenerate_by is not None:
                return ""
        edits = self._edits(final=final)
        cut = len(self._raw)
        if not final:
            cut -= HOLD
            if self._unsettled is not None:
                cut = min(cut, self._unsettled)
            if unfinished := _UNFINISHED.search(self._raw):
                cut = min(cut, unfinished.start())
            cut = min(cut, solicitation.unsettled(self._raw))
            # Never inside a word: an e-mail address or key is one, and may still be growing.
            if cut > self._released:
                cut = _last_space(self._raw[: cut + 1])
            for edit in edits:  # in order, so moving back past one cannot land in another
                if edit.start < cut < edit.end:
                    cut = edit.start
        if cut <= self._released:
            return ""
        out, position = [], self._released
        for edit in edits:
            # An insertion at the release point goes out with the text after it.
            inserted_later = edit.start == edit.end == cut and not final
            if edit.start >= position and edit.end <= cut and not inserted_later:
                out += [self._raw[position : edit.start], edit.replacement]
                position = edit.end
        out.append(self._raw[position:cut])
        self._released = cut
        return "".join(out)

    @property
    def judgements(self) -> list[Judgement]:
        """The claim check's verdicts on the answer's claims so far, in order."""
        return [judgement for judgement, _ in self._judged.values()]

    def _edits(self, *, final: bool) -> list[_Edit]:
        """Every change to the raw text, none overlapping, in order (found anew each time:
        answers are short, and a later character can complete an earlier value)."""
        raw = self._raw
        edits = [_Edit(*m.span(), "") for m in SHOWN_NUMBER.finditer(raw)]
        if self._claims is None:
            edits += [_Edit(*match.span(), "") for match in REFERENCE.finditer(raw)]
            citations = references(raw)
            self.cited = [ref for ref in dict.fromkeys(citations) if ref in self._citable]
        else:
            edits += self._claim_edits(self._claims, final=final)
        for match in _IMAGE.finditer(raw):
            edits.append(_Edit(*match.span(), match[1]))
        for match in _LINK.finditer(raw):
            url = match[2].lower()
            if not url.startswith(("https://", "http://")):
                edits.append(_Edit(*match.span(), match[1]))
        for pattern in (_AUTOLINK, _TAG, _BARE_SCRIPT_URL):
            edits += [_Edit(*m.span(), "") for m in pattern.finditer(raw)]
        exposed = [s for s in sensitive.find(raw) if normalised(s.value) not in self._allowed]
        edits += [_Edit(span.start, span.end, _LABELS[span.kind]) for span in exposed]
        chosen = _withheld(edits)
        withheld = list(chosen)
        last: _Edit | None = None  # in order, an edit can only clash with the last one kept
        for edit in sorted(edits, key=lambda e: (e.start, -e.end)):
            if edit.first or (last is not None and _overlap(edit, last)):
                continue
            if not any(_overlap(edit, span) for span in withheld):
                chosen.append(edit)
                last = edit
        chosen.sort(key=lambda e: (e.start, e.end))
        self.redacted = [span.kind for span in exposed]
        if self._claims is None:
            return chosen
        # Numbered in the order shown, over the citations that are shown.
        numbering: dict[str, int] = {}
        numbered = [
            _Edit(e.start, e.end, _numbers(e.refs, numbering)) if e.refs is not None else e
            for e in chosen
        ]
        self.cited = [ref for ref in numbering if ref in self._citable]
        return numbered

    def _claim_edits(self, check: ClaimCheck, *, final: bool) -> list[_Edit]:
        """Each settled claim's references, checked: shown before its full stop (those it
        wrote taken out); a withheld claim taken out whole."""
        raw, edits = self._raw, []
        self._unsettled = None
        for claim in split(raw, final=final):
            references = list(REFERENCE.finditer(raw, claim.start, claim.end))
            if not claim.settled:
                self._unsettled = claim.start
                edits += [_Edit(*m.span(), "") for m in references]
                continue
            key = (claim.start, claim.end)
            if key not in self._judged:
                judged = check.judge(raw[claim.start : claim.end])
                self._judged[key] = (judged, insertion_point(raw, claim))
            judgement, at = self._judged[key]
            if judgement.verdict is Verdict.WITHHELD:
                edits.append(_Edit(claim.start, claim.end, "", first=True))
                continue
            edits += [_Edit(*m.span(), "") for m in references]
            if judgement.refs:
                edits.append(_Edit(at, at, "", refs=judgement.refs))
        return edits


def _withheld(edits: list[_Edit]) -> list[_Edit]:
    """The withheld claims, each grown over any other edit reaching past it (a value to
    redact that straddles the claim's end goes with it, rather than out half shown)."""
    spans = [edit for edit in edits if edit.first]
    others = [edit for edit in edits if not edit.first]
    grown = True
    while grown:
        grown = False
        for i, span in enumerate(spans):
            for other in others:
                if _overlap(other, span) and (other.start < span.start or other.end > span.end):
                    start, end = min(span.start, other.start), max(span.end, other.end)
                    spans[i] = span = _Edit(start, end, "", first=True)
                    grown = True
    return spans


def _overlap(edit: _Edit, other: _Edit) -> bool:
    if edit.start == edit.end:  # an insertion clashes only with what it would split
        return other.start < edit.start < other.end
    if other.start == other.end:
        return edit.start < other.start < edit.end
    return edit.start < other.end and other.start < edit.end
