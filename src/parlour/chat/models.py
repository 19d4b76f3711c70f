from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Author(StrEnum):
    USER = "user"
    ASSISTANT = "assistant"
    AGENT = "agent"
    SYSTEM = "system"


class MessageKind(StrEnum):
    TEXT = "text"
    HANDOFF = "handoff"


class ConversationStatus(StrEnum):
    """Who handles a conversation (chat/lifecycle.py moves it between these)."""

    BOT = "bot"  # the assistant answers
    QUEUED = "queued"  # waiting for a person, nobody assigned
    ASSIGNED = "assigned"  # a person (`assignee`) has it; `agent` before migration 0025
    PENDING = "pending"  # waiting on the customer
    SNOOZED = "snoozed"  # put aside until `snoozed_until`
    RESOLVED = "resolved"


class HandoffState(StrEnum):
    """What a `handoff` frame tells the customer (docs/protocol.md), for each move."""

    QUEUED = "queued"
    AGENT_JOINED = "agent_joined"
    RETURNED_TO_BOT = "returned_to_bot"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Citation:
    id: str
    title: str
    url: str | None = None  # its source's page, https only (knowledge/source_urls.py)

    def as_json(self) -> dict[str, str]:
        """As stored and as a `message` frame carries it: `url` only when there is one."""
        shown = {"id": self.id, "title": self.title}
        if self.url is not None and self.url.lower().startswith("https://"):
            shown["url"] = self.url
        return shown


@dataclass(frozen=True, slots=True)
class Choice:
    """One entry an assistant's offer names ("Did you mean …?"): an opaque reference the
    customer's pick names it by, and the entry's question as its title (docs/protocol.md)."""

    id: str
    title: str


@dataclass(frozen=True, slots=True)
class AttachmentRef:
    """A file a message carries (chat/attachments.py): what its frame says of it. The file
    itself, sealed, is in a table of its own, and is served only through signed links."""

    id: str
    name: str
    content_type: str
    size: int
    thumbnail: bool  # a server-made thumbnail exists (images)

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "content_type": self.content_type,
            "size": self.size,
            "thumbnail": self.thumbnail,
        }


@dataclass(frozen=True, slots=True)
class Conversation:
    tenant_id: str
    conversation_id: str
    end_user_id: str
    status: ConversationStatus
    last_seq: int
    created_at: datetime
    updated_at: datetime | None = None  # its latest message's time, as read back
    assignee: str | None = None  # the account of the person who has it
    snoozed_until: datetime | None = None
    customer_read_seq: int = 0  # how far the customer has seen it (read receipts)
    agent_read_seq: int = 0  # how far its people have seen it
    team_id: str | None = None  # the team whose queue it is in (chat/teams.py)


@dataclass(frozen=True, slots=True)
class Message:
    """One durable entry of a conversation; `seq` orders it and numbers it for acks and resume."""

    tenant_id: str
    conversation_id: str
    seq: int
    message_id: str
    kind: MessageKind
    author: Author
    body: str
    created_at: datetime
    client_id: str | None = None
    citations: tuple[Citation, ...] = ()
    actions: tuple[str, ...] = ()
    author_name: str | None = None  # an agent's display name when they sent it
    choices: tuple[Choice, ...] = ()  # an assistant's offer of entries to pick from
    attachments: tuple[AttachmentRef, ...] = ()  # files it carries (chat/attachments.py)


@dataclass(frozen=True, slots=True)
class MessageAdded:
    message: Message


@dataclass(frozen=True, slots=True)
class MessageStored:
    """A message with this sequence number is in the database (what travels between nodes:
    no content crosses the broker, every node reads the sealed row itself)."""

    seq: int


@dataclass(frozen=True, slots=True)
class TypingChanged:
    author: Author
    active: bool
    name: str | None = None  # an agent's display name


@dataclass(frozen=True, slots=True)
class ReadUpTo:
    """Someone in the conversation has seen everything up to `seq`."""

    author: Author
    seq: int


@dataclass(frozen=True, slots=True)
class AnswerStreaming:
    """Part of an answer still being written, released by the output filter. Only this node's
    sockets hear it (it is never persisted nor sent through a shared broker); the final
    message, with `stream_id` as its id, carries the whole text."""

    stream_id: str
    text: str


@dataclass(frozen=True, slots=True)
class Resync:
    """The broker may have lost events: the subscriber should reconnect and resume."""


def webhook_event(kind: MessageKind) -> str:
    """What a stored message is called to an organisation's webhooks."""
    return "conversation.handoff" if kind is MessageKind.HANDOFF else "message.created"


# A move announced by a `handoff` message that is also an event of its own: owed with the
# message, so in the move's transaction (chat/batch.py), its payload ids and states only.
MOVE_EVENTS = {
    HandoffState.AGENT_JOINED.value: "conversation.assigned",
    HandoffState.RESOLVED.value: "conversation.resolved",
}


def webhook_events(message: Message) -> tuple[str, ...]:
    """Every event a stored message is to an organisation's webhooks."""
    first = webhook_event(message.kind)
    if message.kind is MessageKind.HANDOFF and message.body in MOVE_EVENTS:
        return first, MOVE_EVENTS[message.body]
    return (first,)


WEBHOOK_EVENTS = (
    "message.created",
    "conversation.handoff",
    "conversation.assigned",
    "conversation.resolved",
)


ConversationEvent = (
    MessageAdded | MessageStored | TypingChanged | ReadUpTo | AnswerStreaming | Resync
)


@dataclass(frozen=True, slots=True)
class Note:
    """An agent's private note on a conversation (chat/notes.py): for the organisation's members
    only, never a message, never numbered, never sent to the customer (T-99)."""

    tenant_id: str
    conversation_id: str
    note_id: str
    author_id: str  # the member's account
    body: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CannedReply:
    """An organisation's prepared answer, inserted with `/shortcut` (chat/canned_replies.py)."""

    tenant_id: str
    reply_id: str
    shortcut: str
    body: str
    created_at: datetime
    updated_at: datetime
