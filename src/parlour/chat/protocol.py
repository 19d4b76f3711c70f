"""The chat protocol's frames (docs/protocol.md): parsing what clients send, shaping what they get.

Client frames are validated strictly (unknown fields and types are refused) from JSON text of at
most the gateway's frame size, with pydantic's parser, which bounds nesting depth.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from parlour.chat.attachment_links import AttachmentLinks
from parlour.chat.models import Author, Message, MessageKind
from parlour.errors import InvalidInput, Unauthenticated

PROTOCOL_VERSION = 1
MAX_FILES = 5  # attachments one message may carry


class BadFrame(InvalidInput):
    code = "bad_frame"
    default_message = "The frame is not valid."


class BadAuthFrame(Unauthenticated):
    """A first frame that is not a valid `auth` frame: nothing is authenticated, and the reason
    says what was wrong with it."""

    code = "bad_auth_frame"
    default_message = "The first frame must be auth."


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class AuthFrame(_Frame):
    """Exactly one of: `token` (a verified end user), `visitor: true` (a new anonymous visitor)
    or `visitor_token` (the same visitor again, where the organisation allows visitors)."""

    type: Literal["auth"]
    token: Annotated[str, Field(min_length=1, max_length=8192)] | None = None
    visitor: bool = False
    visitor_token: Annotated[str, Field(min_length=1, max_length=8192)] | None = None
    last_seq: Annotated[int, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _one_way_in(self) -> AuthFrame:
        if sum((self.token is not None, self.visitor, self.visitor_token is not None)) != 1:
            raise ValueError("auth needs exactly one of token, visitor or visitor_token")
        return self


class SendFrame(_Frame):
    """`attachments`: ids of files this customer uploaded to the conversation (§3.7); the text
    may then be empty."""

    type: Literal["message"]
    client_id: UUID
    text: Annotated[str, Field(max_length=64 * 1024)]
    attachments: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=MAX_FILES)
    ] = []


class UploadFrame(_Frame):
    """Ask for a ticket to upload one file to this conversation over HTTP (§3.7)."""

    type: Literal["upload"]


class AckFrame(_Frame):
    type: Literal["ack"]
    seq: Annotated[int, Field(ge=0)]


class TypingFrame(_Frame):
    type: Literal["typing"]
    state: bool


class ReadFrame(_Frame):
    type: Literal["read"]
    seq: Annotated[int, Field(ge=0)]


class ReauthFrame(_Frame):
    type: Literal["reauth"]
    token: Annotated[str, Field(min_length=1, max_length=8192)]


class HandoffFrame(_Frame):
    type: Literal["handoff"]


class ContactFrame(_Frame):
    """An e-mail address the customer leaves for replies (docs/protocol.md, addition 1)."""

    type: Literal["contact"]
    email: Annotated[str, Field(min_length=3, max_length=254)]


class TranscriptFrame(_Frame):
    """Mail me this conversation: to the verified or the left address, never one named here."""

    type: Literal["transcript"]


class RateFrame(_Frame):
    """The customer's rating of the conversation's latest resolution."""

    type: Literal["rate"]
    score: Annotated[int, Field(ge=1, le=5)]
    comment: Annotated[str, Field(max_length=1000)] | None = None


class FeedbackFrame(_Frame):
    """The customer's thumbs up or down on one of the assistant's answers in their own
    conversation, named by the answer's message `id` (docs/protocol.md §3.5)."""

    type: Literal["feedback"]
    id: Annotated[str, Field(min_length=1, max_length=64)]
    thumbs: Literal["up", "down"]


class ChooseFrame(_Frame):
    """The customer's pick among the entries an assistant's offer named: the offer's message
    id and the choice's `id` (docs/protocol.md §3.6)."""

    type: Literal["choose"]
    message_id: Annotated[str, Field(min_length=1, max_length=64)]
    choice: Annotated[str, Field(min_length=1, max_length=8)]


def chosen_frame(message_id: str, choice: str) -> dict[str, Any]:
    """The pick is taken; the answer follows as a `message`."""
    return {"type": "chosen", "message_id": message_id, "choice": choice}


def feedback_frame(message_id: str, thumbs: str) -> dict[str, Any]:
    """The thumbs are kept."""
    return {"type": "feedback_saved", "id": message_id, "thumbs": thumbs}


# The customer's side when nobody is there, and ratings (chat/customer_side.py).
CustomerFrame = ContactFrame | TranscriptFrame | RateFrame

ClientFrame = Annotated[
    AuthFrame
    | SendFrame
    | AckFrame
    | TypingFrame
    | ReadFrame
    | ReauthFrame
    | HandoffFrame
    | ContactFrame
    | TranscriptFrame
    | RateFrame
    | FeedbackFrame
    | ChooseFrame
    | UploadFrame,
    Field(discriminator="type"),
]
_client_frame: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)
F = TypeVar("F")


def parse_client_frame(text: str | bytes) -> ClientFrame:
    return parse_frame(_client_frame, text)


def parse_frame(frames: TypeAdapter[F], text: str | bytes) -> F:
    """One frame of a socket's closed set, strictly; what is wrong with it said plainly, never
    the input itself (`BadFrame`)."""
    try:
        return frames.validate_json(text)
    except ValidationError as exc:
        problem = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in problem["loc"]) or "frame"
        raise BadFrame(f"{where}: {problem['msg']}") from None


def ready_frame(
    conversation_id: str,
    last_seq: int,
    expires_at: datetime,
    visitor_token: str | None = None,
    *,
    people: bool = False,
) -> dict[str, Any]:
    """`people`: the customer can ask for a person at any time (the widget's button)."""
    frame: dict[str, Any] = {
        "type": "ready",
        "protocol": PROTOCOL_VERSION,
        "conversation_id": conversation_id,
        "last_seq": last_seq,
        "expires_at": _timestamp(expires_at),
        "people": people,
    }
    if visitor_token is not None:
        frame["visitor_token"] = visitor_token
    return frame


def accepted_frame(message: Message, links: AttachmentLinks | None = None) -> dict[str, Any]:
    """A user's message is stored; `id` and `created_at` let the client keep the durable copy
    without its `message` frame, which the sending socket is not sent when this frame already
    delivered it (and `attachments`, with their links, when it carries files)."""
    frame: dict[str, Any] = {
        "type": "accepted",
        "client_id": message.client_id,
        "seq": message.seq,
        "id": message.message_id,
        "created_at": _timestamp(message.created_at),
    }
    if message.attachments and links is not None:
        frame["attachments"] = [
            links.frame(message.tenant_id, message.conversation_id, a) for a in message.attachments
        ]
    return frame


def upload_ticket_frame(
    ticket: str, url: str, expires_at: datetime, max_bytes: int
) -> dict[str, Any]:
    """The answer to `upload`: post one file's bytes to `url` with the ticket (§3.7)."""
    return {
        "type": "upload_ticket",
        "ticket": ticket,
        "url": url,
        "expires_at": _timestamp(expires_at),
        "max_bytes": max_bytes,
    }


def message_frame(message: Message, links: AttachmentLinks | None = None) -> dict[str, Any]:
    """`links` mints the signed links of the files the message carries (without it, a
    message's attachments are left out)."""
    if message.kind is MessageKind.HANDOFF:
        return {
            "type": "handoff",
            "seq": message.seq,
            "state": message.body,
            "created_at": _timestamp(message.created_at),
        }
    frame: dict[str, Any] = {
        "type": "message",
        "seq": message.seq,
        "id": message.message_id,
        "author": message.author.value,
        "text": message.body,
        "citations": [c.as_json() for c in message.citations],
        "created_at": _timestamp(message.created_at),
    }
    if message.client_id is not None:
        frame["client_id"] = message.client_id
    if message.actions:
        frame["actions"] = list(message.actions)
    if message.choices:
        frame["choices"] = [{"id": c.id, "title": c.title} for c in message.choices]
    if message.author is Author.AGENT and message.author_name:
        frame["author_name"] = message.author_name
    if message.attachments and links is not None:
        frame["attachments"] = [
            links.frame(message.tenant_id, message.conversation_id, a) for a in message.attachments
        ]
    return frame


def read_frame(seq: int, by: str) -> dict[str, Any]:
    return {"type": "read", "seq": seq, "by": by}


def delta_frame(stream_id: str, text: str) -> dict[str, Any]:
    return {"type": "delta", "stream_id": stream_id, "text": text}


def typing_frame(author: str, active: bool, name: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "typing", "author": author, "state": active}
    if name:
        frame["name"] = name  # an agent's display name
    return frame


def error_frame(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message}


def _timestamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
