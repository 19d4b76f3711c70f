"""Assistant turns: after a user message is stored, answer it in the background (so the answer is
kept even if the user's socket goes away meanwhile).

Past 400 lines as one concept, a turn and its scheduling; its parts already live apart
(bands, answering, generation, draft, choices, feedback, turn_reports).

A turn: the kill switch → retrieve from the tenant's knowledge only → abstain and offer a person
when nothing matches with confidence → reserve the token budgets → build the prompt from the
tenant's live template → stream the model's answer through the output filter to the widget
("typing" first) → tool calls decided by code → store the answer with trusted citations, and a
record of what it was made from.

This module composes the turn and schedules it (one at a time per conversation); running the
model through the filter is assistant/generation.py, how a turn can end is assistant/draft.py,
and what a finished turn leaves for reports is assistant/turn_reports.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import timedelta
from time import perf_counter

from opentelemetry.trace import Tracer

from parlour import metrics, solicitation
from parlour.assistant.answering import Answering, AnswerRules, failure_reason, prompt_budget
from parlour.assistant.bands import Band, Thresholds, decide
from parlour.assistant.budgets import Budgets
from parlour.assistant.choices import Choices
from parlour.assistant.claims import SHOWN_NUMBER
from parlour.assistant.configuration import AssistantConfiguration
from parlour.assistant.draft import (
    ASSISTANT_OFF,
    BLOCKED,
    CHOSEN,
    NO_ANSWER,
    OUT_OF_BUDGET,
    UNAVAILABLE,
    Draft,
    FallbackReason,
)
from parlour.assistant.feedback import AnswerFeedback
from parlour.assistant.generation import ModelRun, RunLimits, run_model
from parlour.assistant.locks import KeyedLock
from parlour.assistant.models import AssistantPolicy, Outcome, OutcomeCount, TurnRecord
from parlour.assistant.output_filter import OutputFilter
from parlour.assistant.prompts import Prompt, build_prompt, fence
from parlour.assistant.providers import Providers
from parlour.assistant.repository import AssistantRepository
from parlour.assistant.tools import Subject, Tool, ToolSource
from parlour.assistant.turn_reports import TurnReports
from parlour.audit.events import Actor
from parlour.chat.models import Author, ConversationStatus, Message
from parlour.chat.service import ChatService
from parlour.errors import InvalidInput
from parlour.keys.models import EndUser
from parlour.knowledge.models import Calibration, Hit
from parlour.knowledge.service import KnowledgeService
from parlour.llm.models import ChatMessage, Grounding, estimate_tokens
from parlour.llm.provider import ProviderFailed
from parlour.observability import security_event
from parlour.rollups.tally import Tally
from parlour.storage.database import Database
from parlour.storage.ids import time_ordered_id
from parlour.storage.types import Clock, utcnow
from parlour.tenants.service import TenantService
from parlour.tracing import span, tracer_of

log = logging.getLogger(__name__)

# Who takes a passage back to the review queue when an answer reciting it is stopped.
OUTPUT_FILTER = Actor.system("output-filter")


@dataclass(frozen=True, slots=True)
class TurnLimits:
    min_confidence: float = 0.6
    # Below min_confidence and at or above this, the turn is unsure between a few entries and
    # offers them as choices (assistant/bands.py); None (or not below): no middle band.
    min_offer_confidence: float | None = None
    choices: int = 3
    min_answer_support: float = 0.3
    # A claim of a generative answer is cited with a passage holding this share of its content
    # words (parlour.assistant.claims); one that nothing supports is withheld.
    min_citation_support: float = 0.5
    passages: int = 4  # k: the most passages a turn gives the model
    # Once the best passage is confident, the others given with it need only this much.
    min_companion_confidence: float = 0.4
    history_messages: int = 6
    max_prompt_tokens: int = 3_000
    max_output_tokens: int = 400
    generation_timeout_seconds: float = 300.0
    max_tool_rounds: int = 3
    temperature: float = 0.2
    delta_interval_seconds: float = 0.05

    # The thresholds calibrated on each organisation's own FAQ (knowledge/calibration.py)
    # replace the two above when its live knowledge has them; False: the two above for all.
    calibrated: bool = True

    @property
    def answer_rules(self) -> AnswerRules:
        return AnswerRules(
            max_prompt_tokens=self.max_prompt_tokens,
            max_output_tokens=self.max_output_tokens,
            min_answer_support=self.min_answer_support,
            min_citation_support=self.min_citation_support,
        )

    @property
    def thresholds(self) -> Thresholds:
        offer = self.min_confidence
        if self.min_offer_confidence is not None:
            offer = min(self.min_offer_confidence, offer)
        return Thresholds(
            self.min_confidence, offer, self.choices, companion=self.min_companion_confidence
        )

    def thresholds_for(self, calibration: Calibration | None) -> Thresholds:
        """The bands for one retrieval: its knowledge's calibration, else the platform's."""
        if calibration is None or not self.calibrated:
            return self.thresholds
        # A passage given beside the confident one must reach at least what an offer needs.
        companion = max(self.min_companion_confidence, calibration.offer)
        return Thresholds(calibration.answer, calibration.offer, self.choices, companion=companion)


class AssistantService:
    def __init__(
        self,
        db: Database,
        chat: ChatService,
        knowledge: KnowledgeService,
        tenants: TenantService,
        configuration: AssistantConfiguration,
        providers: Providers,
        budgets: Budgets,
        tools: ToolSource,
        *,
        canary_key: bytes,
        limits: TurnLimits,
        tally: Tally,
        clock: Clock = utcnow,
        tracer: Tracer | None = None,
    ) -> None:
        self._clock = clock
        self._reports = TurnReports(db, knowledge, tally, clock=clock)
        self._tracer = tracer or tracer_of(None)
        self._db = db
        self._chat = chat
        self._knowledge = knowledge
        self._tenants = tenants
        self.configuration = configuration
        self.providers = providers
        self._budgets = budgets
        self._tools = tools
        self._canary_key = canary_key
        self._limits = limits
        self._run_limits = RunLimits(
            max_output_tokens=limits.max_output_tokens,
            max_tool_rounds=limits.max_tool_rounds,
            temperature=limits.temperature,
            delta_interval_seconds=limits.delta_interval_seconds,
        )
        self._turns: set[asyncio.Task[Message | None]] = set()
        # One turn at a time per conversation, so answers come in the order of the questions.
        self._conversation_locks = KeyedLock()
        # Customers' thumbs on answers (the widget's `feedback` frame).
        self.feedback = AnswerFeedback(
            db, chat, knowledge, tally, self._conversation_locks, clock=clock
        )
        # Customers' picks among the entries an unsure turn offered (the `choose` frame).
        self.choices = Choices(
            db, chat, knowledge, self._conversation_locks, self._answer_chosen, clock=clock
        )

    def canary(self, tenant_id: str) -> str:
        """The tenant's canary: in its system prompt, and nowhere an answer may go."""
        digest = hmac.new(self._canary_key, tenant_id.encode(), hashlib.sha256).hexdigest()
        return f"PCY-{digest[:20]}"

    def schedule_answer(self, message: Message, asker: EndUser) -> None:
        """Answer in the background (chat's `AnswerScheduler`), for the end user who asked. The
        task starts with the caller's context: the turn is traced and logged under the message's
        span and request."""
        subject = Subject(asker.tenant_id, asker.user_id, dict(asker.traits), visitor=asker.visitor)
        task = asyncio.create_task(self.answer(message, subject))
        self._turns.add(task)
        task.add_done_callback(self._turns.discard)

    async def answer(
        self, message: Message, subject: Subject, *, chosen: Hit | None = None
    ) -> Message | None:
        """Answer the customer's `message`; with `chosen`, from that entry (the customer
        picked it among an offer's), without retrieving."""
        with span(self._tracer, "assistant.turn"):
            return await self._answer(message, subject, chosen)

    async def _answer_chosen(
        self, question: Message, subject: Subject, chosen: Hit
    ) -> Message | None:
        return await self.answer(question, subject, chosen=chosen)

    async def _answer(
        self, message: Message, subject: Subject, chosen: Hit | None
    ) -> Message | None:
        async with self._conversation_locks.hold((message.tenant_id, message.conversation_id)):
            conversation = await self._chat.get_conversation(
                message.tenant_id, message.conversation_id
            )
            if conversation.status is not ConversationStatus.BOT:
                return None  # a person has the conversation; the assistant stays quiet
            answer, draft = await self._turn(message, subject, chosen)
        if draft.outcome is Outcome.ABSTAINED:
            # After the answer, off the conversation's lock: its next turn does not wait.
            await self._reports.keep_unanswered(message, draft)
        return answer

    async def _turn(
        self, message: Message, subject: Subject, chosen: Hit | None
    ) -> tuple[Message, Draft]:
        tenant_id, conversation_id = message.tenant_id, message.conversation_id
        started = perf_counter()
        policy = await self.configuration.policy(tenant_id)
        draft = Draft(self.providers.for_policy(policy), tools_enabled=policy.tools_enabled)
        draft.question_id = message.message_id
        stream_id = time_ordered_id()
        await self._chat.set_typing(tenant_id, conversation_id, Author.ASSISTANT, True)
        try:
            await self._compose(draft, message, subject, policy, stream_id, chosen)
        except Exception:
            # Fail closed: never answer without grounding; offer a person instead.
            log.exception("assistant turn failed", extra={"tenant_id": tenant_id})
            draft.settle(Outcome.FALLBACK, UNAVAILABLE, reason=FallbackReason.TURN_FAILED)
        finally:
            await self._chat.set_typing(tenant_id, conversation_id, Author.ASSISTANT, False)
        answer = await self._chat.post(
            tenant_id,
            conversation_id,
            author=Author.ASSISTANT,
            body=draft.text,
            citations=draft.citations,
            actions=draft.actions,
            message_id=stream_id,
            choices=draft.choices,
        )
        # Counted before anything else runs, so a scrape after the answer arrives counts it.
        metrics.turn_finished(
            tenant_id=tenant_id,
            outcome=draft.outcome,
            reason=draft.reason,
            provider=draft.provider.name,
            input_tokens=draft.usage.input_tokens,
            output_tokens=draft.usage.output_tokens,
            seconds=perf_counter() - started,
        )
        await self._reports.record(answer, draft)
        return answer, draft

    async def _compose(
        self,
        draft: Draft,
        message: Message,
        subject: Subject,
        policy: AssistantPolicy,
        stream_id: str,
        chosen: Hit | None = None,
    ) -> None:
        tenant_id = message.tenant_id
        if not policy.enabled:
            draft.settle(Outcome.REFUSED, ASSISTANT_OFF, reason="assistant_off")
            return
        limits = self._limits
        if chosen is not None:
            # The customer picked this entry among an offer's: it is the passage.
            draft.reason = CHOSEN
            hits: tuple[Hit, ...] = (chosen,)
        else:
            with span(self._tracer, "assistant.retrieve"):
                retrieved = await self._knowledge.retrieve(
                    tenant_id, message.body, limit=limits.passages
                )
            draft.question_vector = retrieved.query_vector
            decision = decide(retrieved.hits, limits.thresholds_for(retrieved.calibration))
            if decision.band is Band.OFFER:
                draft.offer(decision.hits)
                return
            if decision.band is not Band.ANSWER:
                draft.settle(Outcome.ABSTAINED, NO_ANSWER, reason="no_confident_knowledge")
                return
            hits = decision.hits
        draft.hits = {f"k{i}": hit for i, hit in enumerate(hits, start=1)}
        passages = [
            Grounding(ref, h.entry.question, h.entry.answer) for ref, h in draft.hits.items()
        ]
        draft.template_version, template = await self.configuration.live_template(tenant_id)
        try:
            organisation = (await self._tenants.get(tenant_id)).name
            prompt = build_prompt(
                template,
                organisation=organisation,
                canary=self.canary(tenant_id),
                passages=passages,
                history=await self._history(message),
                question=message.body,
                max_prompt_tokens=prompt_budget(draft.provider, limits.answer_rules),
                max_knowledge_tokens=draft.provider.knowledge_tokens,
                customer=subject.traits if policy.personalisation and not subject.visitor else None,
            )
        except InvalidInput:
            draft.settle(Outcome.REFUSED, OUT_OF_BUDGET, reason="prompt_too_long")
            return
        draft.grounding = prompt.grounding
        cost = sum(estimate_tokens(m.content) for m in prompt.messages) + limits.max_output_tokens
        over = await self._budgets.reserve(
            tenant_id, subject.user_id, message.conversation_id, cost
        )
        if over is not None:
            log.info("turn refused: %s spent", over, extra={"tenant_id": tenant_id})
            draft.settle(Outcome.REFUSED, OUT_OF_BUDGET, reason=f"{over}_spent")
            return
        own_hosts = await self._tenants.origins(tenant_id)
        answering = Answering(
            prompt,
            draft.hits,
            canary=self.canary(tenant_id),
            organisation=organisation,
            template=template,
            own_hosts=own_hosts,
            rules=limits.answer_rules,
            generative=draft.provider is not self.providers.extractive,
            traits=subject.traits.values(),
        )
        filtered = answering.answer_filter()

        def fall_back(reason: str) -> OutputFilter:
            draft.provider = self.providers.extractive
            fallback = answering.fall_back()
            if not fallback.blocked:
                draft.settle(Outcome.FALLBACK, fallback.text, reason=reason, handoff=False)
                draft.cited = [fallback.ref]
            return fallback.filtered

        async def release(part: str) -> None:
            await self._chat.stream_part(tenant_id, message.conversation_id, stream_id, part)

        run = ModelRun()
        try:
            async with asyncio.timeout(limits.generation_timeout_seconds):
                with span(self._tracer, "assistant.generate"):
                    tools: list[Tool] = []
                    if draft.provider.supports_tools and draft.tools_enabled:
                        tools = list(await self._tools.tools(tenant_id))
                    await run_model(
                        run,
                        draft.provider,
                        prompt,
                        filtered,
                        tools=tools,
                        subject=subject,
                        release=release,
                        limits=self._run_limits,
                    )
            draft.text = run.text
        except (ProviderFailed, TimeoutError) as failure:
            reason = failure_reason(failure)
            log.warning(
                "provider %s failed (%s); answering extractively",
                draft.provider.name,
                reason,
                extra={"tenant_id": tenant_id},
            )
            filtered = fall_back(reason)
            if not filtered.blocked:
                return
        finally:
            draft.usage += run.usage  # what the model spent, however the run ended
        if filtered.degenerate_by is not None:
            log.info(
                "provider %s wrote a degenerate answer (%s); answering extractively",
                draft.provider.name,
                filtered.degenerate_by,
                extra={"tenant_id": tenant_id},
            )
            filtered = fall_back(FallbackReason.DEGENERATE)
            if not filtered.blocked:
                return
        if filtered.blocked_by is not None:
            security_event(filtered.blocked_by, tenant_id=tenant_id, provider=draft.provider.name)
            draft.settle(Outcome.BLOCKED, BLOCKED, reason=filtered.blocked_by)
            if filtered.request is not None:
                await self._flag_passages_again(tenant_id, draft, prompt, own_hosts)
            return
        draft.cited = filtered.cited or [prompt.grounding[0].ref]
        if judgements := filtered.judgements:
            metrics.claims_judged(tenant_id, [j.verdict for j in judgements])
            metrics.references_dropped(tenant_id, sum(j.unknown for j in judgements))
        if not draft.text.strip():
            draft.settle(Outcome.FALLBACK, UNAVAILABLE, reason=FallbackReason.EMPTY_ANSWER)

    async def _flag_passages_again(
        self, tenant_id: str, draft: Draft, prompt: Prompt, own_hosts: list[str]
    ) -> None:
        """The passages behind a stopped answer that themselves ask for a secret or send data
        away go back to the review queue, approved or not: screening missed them, or a person
        let them through, and every answer reciting them would be stopped again."""
        for passage in prompt.grounding:
            hit = draft.hits.get(passage.ref)
            if hit is None:
                continue
            requests = solicitation.find(hit.entry.answer, allowed_hosts=own_hosts)
            if not requests:
                continue
            reasons = [f"{r.kind}: output filter stopped an answer: {r.words}" for r in requests]
            item = await self._knowledge.review.flag_again(
                tenant_id, hit.entry.entry_id, reasons[:3], actor=OUTPUT_FILTER
            )
            if item is not None:
                security_event(
                    "knowledge_flagged_again",
                    tenant_id=tenant_id,
                    entry_id=hit.entry.entry_id,
                    item_id=item.item_id,
                )

    async def _history(self, message: Message) -> list[ChatMessage]:
        count = self._limits.history_messages
        if count == 0 or message.seq <= 1:
            return []
        earlier = await self._chat.history(
            message.tenant_id,
            message.conversation_id,
            after_seq=max(0, message.seq - 1 - count),
            limit=count,
        )
        history = []
        for item in earlier:
            if item.seq >= message.seq:
                break
            if item.author is Author.USER:
                history.append(ChatMessage("user", fence("customer_message", item.body)))
            elif item.author is Author.ASSISTANT:
                # Without the numbers the customer saw: the model cites by the prompt's refs.
                history.append(ChatMessage("assistant", SHOWN_NUMBER.sub("", item.body)))
        return history

    async def turn_record(self, tenant_id: str, message_id: str) -> TurnRecord | None:
        async with self._db.read(tenant_id) as conn:
            return await AssistantRepository(conn).turn(tenant_id, message_id)

    async def outcome_counts(self, tenant_id: str, *, days: int = 30) -> list[OutcomeCount]:
        """How the tenant's turns of the last `days` ended, by outcome and reason: fallbacks
        (the model timed out or failed) and blocks (a request for a secret stopped) included."""
        since = self._clock() - timedelta(days=days)
        async with self._db.read(tenant_id) as conn:
            return await AssistantRepository(conn).outcome_counts(tenant_id, since)

    async def aclose(self) -> None:
        """Let turns under way finish (they persist answers), within the caller's deadline."""
        if self._turns:
            await asyncio.gather(*self._turns, return_exceptions=True)
        await self.choices.settled()
        await self.providers.aclose()
