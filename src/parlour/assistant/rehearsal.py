"""A question tried by a member of the organisation (the dashboard's "try a question" console):
what the assistant would answer, the passages it retrieved with their scores, and the decision
with its reason.

The same steps as a customer's turn (assistant/service.py), in the same order: the kill switch,
retrieval from the organisation's live knowledge (`KnowledgeService.retrieve_explained`: the
turn's search, with each hit's place in the lexical and dense lists), the bands
(assistant/bands.py `decide`, the one home of the thresholds), then, to answer, the
organisation's live template and provider through the output filter, built as the turn builds
them; a failed, timed-out or degenerate model falls back to the passage as in a turn. What
differs: there is no conversation, customer or history, so no tools are offered and no
customer details are in the prompt; nothing is stored (no message, no turn record, no
knowledge gap) and nothing is counted in reports or metrics; a passage the filter stops is not
taken back to review (the console only shows why it would be).

Guarded: each member may try `assistant.rehearsals_per_member` questions (the `rehearsal` rate
rule, RateLimited past it), and a question a model answers reserves its worst case in the
organisation's token budget as a turn does (per member, in place of a customer).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from parlour.assistant.answering import Answering, failure_reason, prompt_budget
from parlour.assistant.bands import Band, Decision, Thresholds, decide
from parlour.assistant.budgets import Budgets
from parlour.assistant.configuration import AssistantConfiguration
from parlour.assistant.draft import FallbackReason
from parlour.assistant.generation import ModelRun, RunLimits, run_model
from parlour.assistant.models import Outcome
from parlour.assistant.output_filter import OutputFilter
from parlour.assistant.prompts import build_prompt
from parlour.assistant.providers import Providers
from parlour.assistant.service import TurnLimits
from parlour.assistant.tools import Subject
from parlour.errors import InvalidInput, RateLimited
from parlour.knowledge.explain import ExplainedHit
from parlour.knowledge.models import Hit
from parlour.knowledge.service import KnowledgeService
from parlour.llm.models import Grounding, Usage, estimate_tokens
from parlour.llm.provider import ProviderFailed
from parlour.rate_limits import RateLimits
from parlour.tenants.service import TenantService

REHEARSAL = "rehearsal"  # the rate rule, per (tenant, member)


@dataclass(slots=True)
class Rehearsed:
    """What a turn would do with the question, and why."""

    question: str
    passages: tuple[ExplainedHit, ...]
    dense: bool  # whether dense retrieval took part
    decision: Decision
    thresholds: Thresholds
    why: str  # the decision's reason, in words
    outcome: Outcome = Outcome.ABSTAINED
    reason: str | None = None  # as a turn's record would say it (no_confident_knowledge, …)
    answer: str = ""  # what the customer would read ("" when they would be offered a person)
    provider: str = ""
    cited: tuple[Hit, ...] = ()
    usage: Usage = field(default_factory=Usage)


class Rehearsal:
    def __init__(
        self,
        knowledge: KnowledgeService,
        tenants: TenantService,
        configuration: AssistantConfiguration,
        providers: Providers,
        budgets: Budgets,
        rates: RateLimits,
        *,
        canary: Callable[[str], str],
        limits: TurnLimits,
        max_question_chars: int,
    ) -> None:
        self._knowledge = knowledge
        self._tenants = tenants
        self._configuration = configuration
        self._providers = providers
        self._budgets = budgets
        self._rates = rates
        self._canary = canary
        self._turn = limits
        self._max_question_chars = max_question_chars
        self._run_limits = RunLimits(
            max_output_tokens=limits.max_output_tokens,
            max_tool_rounds=0,  # no customer: no tools
            temperature=limits.temperature,
            delta_interval_seconds=limits.delta_interval_seconds,
        )

    async def ask(self, tenant_id: str, question: str, *, member_id: str) -> Rehearsed:
        """Try `question` as the organisation's assistant would answer a customer, for the
        member `member_id` (counted against their rate and the organisation's budget)."""
        question = question.strip()
        if not question:
            raise InvalidInput("Type a question to try.")
        if len(question) > self._max_question_chars:
            raise InvalidInput(f"A question may be at most {self._max_question_chars} characters.")
        if not await self._rates.allow(REHEARSAL, tenant_id, member_id):
            raise RateLimited("Too many questions tried; wait a minute and try again.")
        policy = await self._configuration.policy(tenant_id)
        limits = self._turn
        explained = await self._knowledge.retrieve_explained(
            tenant_id, question, limit=limits.passages
        )
        hits = [passage.hit for passage in explained.hits]
        # The organisation's calibrated thresholds when it has them, as its turns use.
        thresholds = limits.thresholds_for(explained.calibration)
        decision = decide(hits, thresholds)
        tried = Rehearsed(
            question,
            explained.hits,
            explained.dense,
            decision,
            thresholds,
            why=_why(decision, hits, thresholds),
        )
        if not policy.enabled:
            tried.outcome, tried.reason = Outcome.REFUSED, "assistant_off"
            tried.why = "The assistant is switched off: every customer is offered a person."
            return tried
        if decision.band is Band.OFFER:
            # The entries are shown as the widget would offer them; no answer is written.
            tried.reason = "unsure_between_entries"
            return tried
        if decision.band is Band.ABSTAIN:
            tried.reason = "no_confident_knowledge"
            return tried
        provider = self._providers.for_policy(policy)
        tried.provider = provider.name
        refs = {f"k{i}": hit for i, hit in enumerate(decision.hits, start=1)}
        _version, template = await self._configuration.live_template(tenant_id)
        organisation = (await self._tenants.get(tenant_id)).name
        canary = self._canary(tenant_id)
        try:
            prompt = build_prompt(
                template,
                organisation=organisation,
                canary=canary,
                passages=[Grounding(r, h.entry.question, h.entry.answer) for r, h in refs.items()],
                history=[],
                question=question,
                max_prompt_tokens=prompt_budget(provider, limits.answer_rules),
                max_knowledge_tokens=provider.knowledge_tokens,
            )
        except InvalidInput:
            tried.outcome, tried.reason = Outcome.REFUSED, "prompt_too_long"
            return tried
        if provider is not self._providers.extractive:
            # A model's tokens are the organisation's: reserved as a turn reserves them.
            cost = sum(estimate_tokens(m.content) for m in prompt.messages)
            cost += limits.max_output_tokens
            over = await self._budgets.reserve(
                tenant_id, f"member:{member_id}", f"rehearsal:{member_id}", cost
            )
            if over is not None:
                tried.outcome, tried.reason = Outcome.REFUSED, f"{over}_spent"
                return tried
        # Held to what a customer's answer is held to (assistant/answering.py).
        answering = Answering(
            prompt,
            refs,
            canary=canary,
            organisation=organisation,
            template=template,
            own_hosts=await self._tenants.origins(tenant_id),
            rules=limits.answer_rules,
            generative=provider is not self._providers.extractive,
        )
        filtered = answering.answer_filter()

        def fall_back(reason: str) -> OutputFilter:
            tried.provider = self._providers.extractive.name
            fallback = answering.fall_back()
            if not fallback.blocked:
                tried.outcome, tried.reason, tried.answer = Outcome.FALLBACK, reason, fallback.text
                tried.cited = (refs[fallback.ref],) if fallback.ref in refs else ()
            return fallback.filtered

        async def release(_part: str) -> None:
            return None  # nothing streams anywhere: the page shows the whole answer

        run = ModelRun()
        subject = Subject(tenant_id, f"member:{member_id}", {}, visitor=True)
        try:
            async with asyncio.timeout(limits.generation_timeout_seconds):
                await run_model(
                    run,
                    provider,
                    prompt,
                    filtered,
                    tools=[],
                    subject=subject,
                    release=release,
                    limits=self._run_limits,
                )
        except (ProviderFailed, TimeoutError) as failure:
            filtered = fall_back(failure_reason(failure))
            if not filtered.blocked:
                return tried
        finally:
            tried.usage = run.usage
        if filtered.degenerate_by is not None:
            filtered = fall_back(FallbackReason.DEGENERATE)
            if not filtered.blocked:
                return tried
        if filtered.blocked_by is not None:
            tried.outcome, tried.reason, tried.answer = Outcome.BLOCKED, filtered.blocked_by, ""
            return tried
        tried.answer = run.text
        cited = filtered.cited or [prompt.grounding[0].ref]
        tried.cited = tuple(refs[ref] for ref in cited if ref in refs)
        tried.outcome, tried.reason = Outcome.ANSWERED, None
        if not run.text.strip():
            tried.outcome, tried.reason = Outcome.FALLBACK, FallbackReason.EMPTY_ANSWER
        return tried


def _why(decision: Decision, hits: list[Hit], thresholds: Thresholds) -> str:
    """The decision's reason, in words, from the thresholds `decide` used."""
    best = max((hit.confidence for hit in hits), default=None)
    if decision.band is Band.ANSWER:
        return (
            f"Answer: {len(decision.hits)} of the passages reached the confidence to answer "
            f"({thresholds.answer:.2f}); the best has {best:.2f}."
        )
    if decision.band is Band.OFFER:
        return (
            f"Offer choices: no passage reached the confidence to answer "
            f"({thresholds.answer:.2f}), but {len(decision.hits)} reached the confidence to be "
            f"offered ({thresholds.offer:.2f}); the best has {best:.2f}."
        )
    if best is None:
        return (
            "Abstain: nothing in the live knowledge shares a word or a meaning with the "
            "question, so the customer would be offered a person."
        )
    return (
        f"Abstain: the best passage's confidence is {best:.2f}, below the "
        f"{thresholds.offer:.2f} needed"
        + (" to answer" if thresholds.offer == thresholds.answer else " to offer it as a choice")
        + ", so the customer would be offered a person."
    )
