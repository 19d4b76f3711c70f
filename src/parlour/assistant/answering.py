"""What an answer is held to once its prompt is built: one home for a customer's turn
(assistant/service.py) and the dashboard's "try a question" console (assistant/rehearsal.py),
so the console shows what a customer would read.

- the prompt's budget for a provider;
- the output filter a model's (or the extractive provider's) answer streams through: the canary,
  values only the material may show, the citable passages, the support check (T-68), the
  degenerate-answer check and, for a model, each sentence's citation (assistant/claims.py);
- the fallback: the best passage's sentences that answer the question, through a filter of its
  own, when the model fails, times out, is busy or writes a degenerate answer;
- why a model's run failed, as a turn's record says it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from parlour.assistant.claims import ClaimCheck
from parlour.assistant.degenerate import Degeneration
from parlour.assistant.draft import FallbackReason
from parlour.assistant.output_filter import OutputFilter, shown_values
from parlour.assistant.prompts import Prompt
from parlour.assistant.support import Support
from parlour.knowledge.models import Hit
from parlour.llm.excerpts import excerpt
from parlour.llm.provider import Provider, ProviderBusy


@dataclass(frozen=True, slots=True)
class AnswerRules:
    """The limits of a turn that shape its answer (from TurnLimits)."""

    max_prompt_tokens: int
    max_output_tokens: int
    min_answer_support: float
    min_citation_support: float


def prompt_budget(provider: Provider, rules: AnswerRules) -> int:
    """The platform's prompt budget, or less when the model's context is smaller: the prompt
    and the longest answer must both fit. Estimates run high (a token per three characters),
    so the real prompt stays inside."""
    if provider.context_tokens is None:
        return rules.max_prompt_tokens
    return min(rules.max_prompt_tokens, provider.context_tokens - rules.max_output_tokens)


def failure_reason(failure: Exception) -> str:
    """A model run that raised: why the turn fell back."""
    if isinstance(failure, TimeoutError):
        return FallbackReason.MODEL_TIMED_OUT
    if isinstance(failure, ProviderBusy):
        return FallbackReason.MODEL_BUSY
    return FallbackReason.MODEL_FAILED


@dataclass(frozen=True, slots=True)
class Fallback:
    """The best passage's answer, as its own filter let it through (or blocked it)."""

    filtered: OutputFilter
    text: str
    ref: str

    @property
    def blocked(self) -> bool:
        return self.filtered.blocked


class Answering:
    """One answer's material (the passages that fitted the prompt, and the customer's own
    details), and the filters it is held to."""

    def __init__(
        self,
        prompt: Prompt,
        hits: Mapping[str, Hit],
        *,
        canary: str,
        organisation: str,
        template: str,
        own_hosts: list[str],
        rules: AnswerRules,
        generative: bool,
        traits: Iterable[str] = (),
    ) -> None:
        self._prompt = prompt
        self._hits = hits
        self._canary = canary
        self._own_hosts = own_hosts
        self._rules = rules
        self._generative = generative
        self.material = [*(f"{p.title}\n{p.text}" for p in prompt.grounding), *traits]
        self._support = Support([*self.material, organisation, template])

    def answer_filter(self) -> OutputFilter:
        """What the provider's answer streams through. The extractive answer is one passage's
        words, cited whole; a model's sentences are each checked against the passages it was
        given, and a degenerate answer of a model is stopped (its fallback is the passage)."""
        grounding = self._prompt.grounding
        rules = self._rules
        return OutputFilter(
            self._canary,
            shown_values(self.material),
            citable=[p.ref for p in grounding],
            support=self._support,
            min_support=rules.min_answer_support,
            own_hosts=self._own_hosts,
            degeneration=Degeneration(self._prompt.question) if self._generative else None,
            claims=ClaimCheck(
                {p.ref: f"{p.title}\n{p.text}" for p in grounding},
                self._support,
                min_citation_support=rules.min_citation_support,
                min_claim_support=rules.min_answer_support,
            )
            if self._generative
            else None,
        )

    def fall_back(self) -> Fallback:
        """The best passage's sentences that answer the question, through a filter of its own:
        a fallback is an answer, unless that filter blocks it. The passage is the whole entry:
        the prompt of a model with a small context may hold only its beginning."""
        first = self._prompt.grounding[0]
        hit = self._hits.get(first.ref)
        passage = hit.entry.answer if hit is not None else first.text
        filtered = OutputFilter(
            self._canary,
            shown_values([*self.material, passage]),
            citable=[first.ref],
            own_hosts=self._own_hosts,
        )
        text = filtered.feed(excerpt(self._prompt.question, passage)) + filtered.finish()
        return Fallback(filtered, text, first.ref)
