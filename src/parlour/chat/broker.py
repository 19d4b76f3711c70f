"""Fan-out of conversation events to the sockets watching a conversation.

Events go out after the change is committed, so a subscriber that misses one (slow, or on a node
that was down) can always refill from the database by sequence number; the broker is a fast path,
never the record.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Protocol

from parlour.chat.models import ConversationEvent, Resync


class Subscription(Protocol):
    overflowed: bool

    async def get(self) -> ConversationEvent: ...


class Broker(Protocol):
    async def publish(
        self, tenant_id: str, conversation_id: str, event: ConversationEvent
    ) -> None: ...

    def subscribe(
        self, tenant_id: str, conversation_id: str
    ) -> contextlib.AbstractAsyncContextManager[Subscription]: ...

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...


class _QueueSubscription:
    def __init__(self, capacity: int) -> None:
        self._queue: asyncio.Queue[ConversationEvent] = asyncio.Queue(capacity)
        self.overflowed = False

    def offer(self, event: ConversationEvent) -> None:
        if self.overflowed and not isinstance(event, Resync):
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            # A consumer this far behind resumes from the database instead of holding memory.
            self.overflowed = True

    async def get(self) -> ConversationEvent:
        return await self._queue.get()


class InProcessBroker:
    """The embedded profile's broker: one process, subscribers keyed by tenant and conversation."""

    def __init__(self, *, queue_capacity: int = 1024) -> None:
        self._capacity = queue_capacity
        self._subscribers: dict[tuple[str, str], set[_QueueSubscription]] = {}

    async def publish(self, tenant_id: str, conversation_id: str, event: ConversationEvent) -> None:
        for subscription in tuple(self._subscribers.get((tenant_id, conversation_id), ())):
            subscription.offer(event)

    @contextlib.asynccontextmanager
    async def subscribe(self, tenant_id: str, conversation_id: str) -> AsyncIterator[Subscription]:
        key = (tenant_id, conversation_id)
        subscription = _QueueSubscription(self._capacity)
        self._subscribers.setdefault(key, set()).add(subscription)
        try:
            yield subscription
        finally:
            subscribers = self._subscribers.get(key)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._subscribers[key]

    def resync_all(self) -> None:
        """Tell every subscriber that events may have been lost (the shared broker failed)."""
        for subscriptions in self._subscribers.values():
            for subscription in subscriptions:
                subscription.offer(Resync())
                subscription.overflowed = True

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        self._subscribers.clear()
