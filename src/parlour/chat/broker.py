"""Fan-out of conversation events to the sockets watching a conversation, and of an
organisation's desk events (chat/desk_events.py) to its members' live sockets.

Events go out after the change is committed, so a subscriber that misses one (slow, or on a node
that was down) can always refill from the database by sequence number; the broker is a fast path,
never the record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from parlour.chat.desk_events import DeskEvent
from parlour.chat.models import ConversationEvent, Resync

log = logging.getLogger(__name__)


# Called in the publisher's context for every event of the conversation; it must not block.
Listener = Callable[[ConversationEvent], None]
# Called for every event of an organisation's desk channel (or Resync); it must not block.
DeskListener = Callable[[DeskEvent | Resync], None]


class Broker(Protocol):
    async def publish(
        self, tenant_id: str, conversation_id: str, event: ConversationEvent
    ) -> None: ...

    async def listen(
        self, tenant_id: str, conversation_id: str, listener: Listener
    ) -> Callable[[], None]:
        """Hand every later event of the conversation to `listener` until the returned
        function is called. Returns once events published on any node reach `listener`, so a
        socket reads its history after this and misses nothing between; raises `Unavailable`
        if that does not come about soon."""
        ...

    async def publish_desk(self, tenant_id: str, event: DeskEvent) -> None:
        """Tell the organisation's members' sockets, on every node."""
        ...

    async def listen_desk(self, tenant_id: str, listener: DeskListener) -> Callable[[], None]:
        """Hand every later event of the organisation's desk channel to `listener` until the
        returned function is called; returns, or raises, as `listen` does."""
        ...

    async def flush(self) -> None:
        """Wait until every event published so far has left this node."""
        ...

    async def subscribed(self) -> None:
        """Return once this node can hear other nodes (its link to them is up); raise
        `Unavailable` if that does not come about soon. Checked before a socket is let in, so
        a node that lost the link refuses the upgrade rather than accept and close it."""
        ...

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...


class InProcessBroker:
    """The embedded profile's broker: one process, listeners keyed by tenant and conversation.
    A listener is a plain callback, not a queue and a task: an idle socket then costs no more
    than its entry here."""

    def __init__(self) -> None:
        self._listeners: dict[tuple[str, str], list[Listener]] = {}
        self._desks: dict[str, list[DeskListener]] = {}

    async def publish(self, tenant_id: str, conversation_id: str, event: ConversationEvent) -> None:
        self.deliver(tenant_id, conversation_id, event)

    def deliver(self, tenant_id: str, conversation_id: str, event: ConversationEvent) -> None:
        """Hand `event` to the conversation's listeners, now."""
        for listener in tuple(self._listeners.get((tenant_id, conversation_id), ())):
            _deliver(listener, event)

    async def listen(
        self, tenant_id: str, conversation_id: str, listener: Listener
    ) -> Callable[[], None]:
        return self.add(tenant_id, conversation_id, listener)

    def add(self, tenant_id: str, conversation_id: str, listener: Listener) -> Callable[[], None]:
        """`listen`, at once: in one process every event reaches the listener from here on."""
        key = (tenant_id, conversation_id)
        self._listeners.setdefault(key, []).append(listener)

        def stop() -> None:
            listeners = self._listeners.get(key)
            if listeners is not None and listener in listeners:
                listeners.remove(listener)
                if not listeners:
                    del self._listeners[key]

        return stop

    async def publish_desk(self, tenant_id: str, event: DeskEvent) -> None:
        self.deliver_desk(tenant_id, event)

    def deliver_desk(self, tenant_id: str, event: DeskEvent) -> None:
        """Hand `event` to the organisation's desk listeners, now."""
        for listener in tuple(self._desks.get(tenant_id, ())):
            _deliver(listener, event)

    async def listen_desk(self, tenant_id: str, listener: DeskListener) -> Callable[[], None]:
        return self.add_desk(tenant_id, listener)

    def add_desk(self, tenant_id: str, listener: DeskListener) -> Callable[[], None]:
        """`listen_desk`, at once."""
        self._desks.setdefault(tenant_id, []).append(listener)

        def stop() -> None:
            listeners = self._desks.get(tenant_id)
            if listeners is not None and listener in listeners:
                listeners.remove(listener)
                if not listeners:
                    del self._desks[tenant_id]

        return stop

    def resync_all(self) -> None:
        """Tell every listener that events may have been lost (the shared broker failed)."""
        every: list[Callable[[Any], None]] = []
        for listeners in self._listeners.values():
            every += listeners
        for desk in self._desks.values():
            every += desk
        for listener in every:
            _deliver(listener, Resync())

    async def flush(self) -> None:
        return None  # delivered as published

    async def subscribed(self) -> None:
        return None  # no other node

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        self._listeners.clear()
        self._desks.clear()


def _deliver(listener: Callable[[Any], None], event: object) -> None:
    try:
        listener(event)
    except Exception:
        # One listener's failure must not keep the event from the others.
        log.exception("a conversation listener failed")
