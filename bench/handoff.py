"""bench/handoff: how well a typed request for a person is recognised (issue 22, item 5).

The messages are tests/data/person_requests/<language>.txt (paraphrases of a request for a person,
"+", and messages that must not count as one, "-") and <language>.heldout.txt (written after the
recogniser was settled and never tuned on). For each language and set: precision (of the
messages taken for a request, the share that are one: a false one takes a customer away from an
answer) and recall (of the requests, the share recognised), read in that language alone and as
the widget reads them, in every language at once (the widget does not say which its customer
writes in), with the time per message.

For comparison, where the packaged MiniLM embedder is installed: the nearest written message by
meaning (1-nearest-neighbour over the written set's vectors, both kinds) gives each held-out
message its label, the embedding alternative the recogniser was chosen over.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from parlour.chat.person_request import LANGUAGES, asks_for_a_person
from parlour.knowledge.embeddings import MINILM_MODEL, shared_minilm

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "person_requests"
SETS = ("", ".heldout")


@dataclass(frozen=True, slots=True)
class Score:
    positives: int
    negatives: int
    true_positives: int
    false_positives: int
    misses: tuple[str, ...]
    false_alarms: tuple[str, ...]

    @property
    def precision(self) -> float:
        taken = self.true_positives + self.false_positives
        return self.true_positives / taken if taken else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.positives if self.positives else 1.0


def labelled(language: str, kind: str = "") -> list[tuple[str, bool]]:
    """The set's messages and whether each asks for a person."""
    lines = (DATA / f"{language}{kind}.txt").read_text(encoding="utf-8").splitlines()
    return [(line[2:], line[0] == "+") for line in lines if line[:2] in ("+ ", "- ")]


def score(messages: list[tuple[str, bool]], language: str | None) -> Score:
    found = [(text, wanted, asks_for_a_person(text, language)) for text, wanted in messages]
    return Score(
        positives=sum(wanted for _, wanted, _ in found),
        negatives=sum(not wanted for _, wanted, _ in found),
        true_positives=sum(wanted and got for _, wanted, got in found),
        false_positives=sum(got and not wanted for _, wanted, got in found),
        misses=tuple(text for text, wanted, got in found if wanted and not got),
        false_alarms=tuple(text for text, wanted, got in found if got and not wanted),
    )


async def run() -> str:
    lines = [
        "## bench/handoff: recognising a typed request for a person",
        "",
        "| language | set | read as | + | - | precision | recall | µs/message |",
        "|---|---|---|---|---|---|---|---|",
    ]
    notes: list[str] = []
    for language in LANGUAGES:
        for kind in SETS:
            messages = labelled(language, kind)
            for read_as in (language, None):
                started = time.perf_counter()
                result = score(messages, read_as)
                micros = (time.perf_counter() - started) / len(messages) * 1e6
                lines.append(
                    f"| {language} | {kind.strip('.') or 'written'} | {read_as or 'every language'}"
                    f" | {result.positives} | {result.negatives} | {result.precision:.3f}"
                    f" | {result.recall:.3f} | {micros:.0f} |"
                )
                if read_as is None:
                    where = f"{language}{kind}"
                    notes += [f"- {where} missed: {text}" for text in result.misses]
                    notes += [f"- {where} false alarm: {text}" for text in result.false_alarms]
    return "\n".join([*lines, "", *notes, "", *nearest_prototype()]) + "\n"


def nearest_prototype() -> list[str]:
    """Held-out messages labelled by their nearest written message, with MiniLM's vectors."""
    if not MINILM_MODEL.present():
        return ["(MiniLM is not installed: no embedding comparison)"]
    embedder = shared_minilm()
    lines = [
        "Embedding alternative: each held-out message takes the label of its nearest written"
        " message (MiniLM, cosine):",
        "",
        "| language | + | - | precision | recall | ms/message |",
        "|---|---|---|---|---|---|",
    ]
    for language in LANGUAGES:
        written, held_out = labelled(language), labelled(language, ".heldout")
        prototypes = embedder.embed([text for text, _ in written])
        labels = np.array([wanted for _, wanted in written])
        started = time.perf_counter()
        vectors = embedder.embed([text for text, _ in held_out])
        millis = (time.perf_counter() - started) / len(held_out) * 1e3
        taken = labels[(vectors @ prototypes.T).argmax(axis=1)]
        truth = np.array([wanted for _, wanted in held_out])
        found, wrong = int((taken & truth).sum()), int((taken & ~truth).sum())
        lines.append(
            f"| {language} | {int(truth.sum())} | {int((~truth).sum())}"
            f" | {found / max(found + wrong, 1):.3f} | {found / int(truth.sum()):.3f}"
            f" | {millis:.1f} |"
        )
    return lines
