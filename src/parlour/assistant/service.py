"""Running assistant turns: after a user message is stored, answer it in the background so the
answer is kept even if the user's socket goes away meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Hashable

from parlour.assistant.responder import Answer, Responder, TurnRequest
from parlour.chat.models import Author, ConversationStatus, Message
from parlour.chat.service import ChatService

log = logging.getLogger(__name__)

HANDOFF_ACTION = "handoff"
UNAVAILABLE = "Sorry, I can't answer right now. Would you like to talk to a person?"


class AssistantService:
    def __init__(self, chat: ChatService, responder: Responder) -> None:
        self._chat = chat
        self._responder = responder
        self._turns: set[asyncio.Task[Message | None]] = set()
        # One turn at a time per conversation, so answers come in the order of the questions.
        self._conversation_locks = KeyedLock()

    def schedule_answer(self, message: Message, end_user_id: str) -> None:
        task = asyncio.create_task(self.answer(message, end_user_id))
        self._turns.add(task)
        task.add_done_callback(self._turns.discard)

    async def answer(self, message: Message, end_user_id: str) -> Message | None:
        async with self._conversation_locks.hold((message.tenant_id, message.conversation_id)):
            return await self._answer(message, end_user_id)

    async def _answer(self, message: Message, end_user_id: str) -> Message | None:
        tenant_id, conversation_id = message.tenant_id, message.conversation_id
        conversation = await self._chat.get_conversation(tenant_id, conversation_id)
        if conversation.status is not ConversationStatus.BOT:
            return None  # a person has the conversation; the assistant stays quiet
        request = TurnRequest(tenant_id, conversation_id, end_user_id, message.body)
        await self._chat.set_typing(tenant_id, conversation_id, Author.ASSISTANT, True)
        try:
            answer = await self._final_answer(request)
        except Exception:
            # Fail closed: never answer without the responder's grounding; offer a person instead.
            log.exception("responder failed", extra={"tenant_id": tenant_id})
            answer = Answer(text=UNAVAILABLE, abstained=True)
        finally:
            await self._chat.set_typing(tenant_id, conversation_id, Author.ASSISTANT, False)
        return await self._chat.post(
            tenant_id,
            conversation_id,
            author=Author.ASSISTANT,
            body=answer.text,
            citations=answer.citations,
            actions=(HANDOFF_ACTION,) if answer.abstained else (),
        )

    async def _final_answer(self, request: TurnRequest) -> Answer:
        async for event in self._responder.respond(request):
            if isinstance(event, Answer):
                return event
        raise RuntimeError("the responder ended without an answer")

    async def aclose(self) -> None:
        """Let turns under way finish (they persist answers), within the caller's deadline."""
        if self._turns:
            await asyncio.gather(*self._turns, return_exceptions=True)


class KeyedLock:
    """A lock per key that exists only while someone holds or awaits it."""

    def __init__(self) -> None:
        self._entries: dict[Hashable, tuple[asyncio.Lock, list[int]]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock, users = self._entries.setdefault(key, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._entries[key]
