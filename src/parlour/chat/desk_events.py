"""What an organisation's members hear on the live desk (docs/desk.md): a conversation created
or moved, a message stored, typing, read marks, presence and notes; their notice between nodes,
and the frame each becomes on a member's socket.

Every event travels on the organisation's own desk channel (the broker's per-tenant channel;
T-98: no event crosses organisations) and names what changed by id, never by content: a
customer's text never crosses the broker nor the desk channel (a member's socket reads the
message it shows from the database itself, under its own organisation). The channel reaches
members only, never a customer's socket, so an event such as a note added is for members alone.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from parlour.chat.models import Author, Conversation

log = logging.getLogger(__name__)

Frame = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ConversationChanged:
    """A conversation was created, or its status or assignee changed: its state now."""

    conversation_id: str
    end_user_id: str
    status: str
    assignee: str | None
    last_seq: int
    snoozed_until: str | None = None
    created: bool = False
    team_id: str | None = None

    @classmethod
    def of(cls, conversation: Conversation, *, created: bool = False) -> ConversationChanged:
        until = conversation.snoozed_until
        return cls(
            conversation.conversation_id,
            conversation.end_user_id,
            conversation.status.value,
            conversation.assignee,
            conversation.last_seq,
            _timestamp(until) if until is not None else None,
            created,
            conversation.team_id,
        )

    def frame(self) -> Frame:
        return {
            "type": "conversation",
            "conversation_id": self.conversation_id,
            "end_user_id": self.end_user_id,
            "status": self.status,
            "assignee": self.assignee,
            "last_seq": self.last_seq,
            "snoozed_until": self.snoozed_until,
            "created": self.created,
            "team_id": self.team_id,
        }


@dataclass(frozen=True, slots=True)
class MessageNoted:
    """A message numbered `seq` is stored in the conversation (its text is not here)."""

    conversation_id: str
    seq: int
    author: str
    kind: str = "text"

    def frame(self) -> Frame:
        return {
            "type": "stored",
            "conversation_id": self.conversation_id,
            "seq": self.seq,
            "author": self.author,
            "kind": self.kind,
        }


@dataclass(frozen=True, slots=True)
class DeskTyping:
    """The customer (`account_id` None) or a member is typing in the conversation, or stopped."""

    conversation_id: str
    author: str
    active: bool
    account_id: str | None = None

    def frame(self) -> Frame:
        return {
            "type": "typing",
            "conversation_id": self.conversation_id,
            "author": self.author,
            "account_id": self.account_id,
            "state": self.active,
        }


@dataclass(frozen=True, slots=True)
class DeskRead:
    """A member has read the conversation up to `seq` (their other tabs update their counts)."""

    conversation_id: str
    account_id: str
    seq: int

    def frame(self) -> Frame:
        return {
            "type": "read",
            "conversation_id": self.conversation_id,
            "account_id": self.account_id,
            "seq": self.seq,
        }


@dataclass(frozen=True, slots=True)
class PresenceChanged:
    """A member's presence, as the presence service reports it (available, away, offline)."""

    account_id: str
    state: str

    def frame(self) -> Frame:
        return {"type": "presence", "account_id": self.account_id, "state": self.state}


@dataclass(frozen=True, slots=True)
class NoteAdded:
    """A private note was added to the conversation: for members only, by construction (the
    desk channel reaches no customer's socket)."""

    conversation_id: str
    note_id: str

    def frame(self) -> Frame:
        return {"type": "note", "conversation_id": self.conversation_id, "note_id": self.note_id}


DeskEvent = ConversationChanged | MessageNoted | DeskTyping | DeskRead | PresenceChanged | NoteAdded

_KINDS: dict[str, type[DeskEvent]] = {
    "conversation": ConversationChanged,
    "stored": MessageNoted,
    "typing": DeskTyping,
    "read": DeskRead,
    "presence": PresenceChanged,
    "note": NoteAdded,
}
_NAMES = {kind: name for name, kind in _KINDS.items()}


def encode(event: DeskEvent, node: str) -> str:
    """The notice for other nodes: the event's fields (ids, numbers, states; never a text),
    naming the node that sent it."""
    fields = {name: getattr(event, name) for name in event.__slots__}
    return json.dumps({"t": _NAMES[type(event)], "n": node, **fields})


def decode(payload: str | bytes) -> tuple[DeskEvent, str] | None:
    """The event and the node that sent it; None for anything malformed."""
    try:
        data = json.loads(payload)
        kind = _KINDS[data.pop("t")]
        node = str(data.pop("n"))
        event = kind(**data)
        if not _well_typed(event):
            raise TypeError("a field of the wrong type")
        return event, node
    except (ValueError, KeyError, TypeError, AttributeError):
        log.warning("ignored a malformed desk notice")
    return None


def _well_typed(event: DeskEvent) -> bool:
    fields = ("conversation_id", "account_id", "team_id")
    ids = [getattr(event, f) for f in fields if hasattr(event, f)]
    if not all(value is None or isinstance(value, str) for value in ids):
        return False
    if isinstance(event, MessageNoted | DeskRead | ConversationChanged):
        number = event.seq if not isinstance(event, ConversationChanged) else event.last_seq
        return isinstance(number, int)
    if isinstance(event, DeskTyping):
        return isinstance(event.active, bool) and event.author in {a.value for a in Author}
    return True


def _timestamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
