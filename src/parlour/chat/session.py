"""One authenticated connection's conversation, without the socket: frames in, frames out.

Delivery rule: the session remembers the highest sequence number it has handed to its client.
Events at or below it are dropped (no duplicates); an event above the next one means something
was missed (the broker is best effort), and the gap is filled from the database (nothing lost).

The sender of a message is not sent it back: its `accepted`, when numbered right after the last
durable frame the socket carried, delivers it (docs/protocol.md §4). A flood of user messages
then costs one frame out per message instead of two, and the user's other sockets still get it
as a `message`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from parlour.chat.models import (
    AnswerStreaming,
    Author,
    Conversation,
    ConversationEvent,
    ConversationStatus,
    Message,
    MessageStored,
    ReadUpTo,
    Resync,
    TypingChanged,
)
from parlour.chat.protocol import (
    AckFrame,
    AuthFrame,
    BadFrame,
    ChooseFrame,
    ClientFrame,
    ContactFrame,
    FeedbackFrame,
    HandoffFrame,
    RateFrame,
    ReadFrame,
    ReauthFrame,
    SendFrame,
    TranscriptFrame,
    TypingFrame,
    UploadFrame,
    accepted_frame,
    delta_frame,
    message_frame,
    read_frame,
    ready_frame,
    typing_frame,
)
from parlour.chat.service import ChatService
from parlour.keys.models import EndUser

Frame = dict[str, Any]


@dataclass(slots=True)
class Outcome:
    """What handling one client frame produced: frames for this client, and a user message the
    assistant should answer, if one was newly stored."""

    frames: list[Frame] = field(default_factory=list)
    new_user_message: Message | None = None


class ChatSession:
    def __init__(
        self, chat: ChatService, user: EndUser, conversation: Conversation, *, page_size: int
    ) -> None:
        self._chat = chat
        self.user = user
        self.conversation = conversation
        self._page_size = page_size
        self.delivered_seq = 0  # the highest number in frames made for the client
        self.sent_seq = 0  # the highest number in frames already written to the socket
        self.acked_seq = 0

    @property
    def tenant_id(self) -> str:
        return self.conversation.tenant_id

    @property
    def conversation_id(self) -> str:
        return self.conversation.conversation_id

    async def start(
        self, last_seq: int | None, visitor_token: str | None = None, *, people: bool = False
    ) -> list[Frame]:
        """`ready` (saying whether people can be asked for), then every durable frame after
        `last_seq` (all history when None), then how far the conversation's people have read
        it, when they have."""
        current = await self._chat.get_conversation(self.tenant_id, self.conversation_id)
        self.delivered_seq = self.sent_seq = self.acked_seq = min(last_seq or 0, current.last_seq)
        frames: list[Frame] = [
            ready_frame(
                self.conversation_id,
                current.last_seq,
                self.user.expires_at,
                visitor_token,
                people=people,
            )
        ]
        frames.extend(await self._catch_up(until=None))
        if current.agent_read_seq:
            frames.append(read_frame(current.agent_read_seq, Author.AGENT.value))
        return frames

    async def on_event(self, event: ConversationEvent) -> list[Frame]:
        if isinstance(event, TypingChanged):
            # A client never needs to be told that its own side is typing.
            if event.author is Author.USER:
                return []
            return [typing_frame(event.author.value, event.active, event.name)]
        if isinstance(event, ReadUpTo):
            # Receipts are for the other side; a user's own devices need not hear of them.
            return (
                [] if event.author is Author.USER else [read_frame(event.seq, event.author.value)]
            )
        if isinstance(event, AnswerStreaming):
            return [delta_frame(event.stream_id, event.text)]
        if isinstance(event, Resync):
            return []
        if isinstance(event, MessageStored):
            return await self._catch_up(until=event.seq) if event.seq > self.delivered_seq else []
        seq = event.message.seq
        if seq <= self.delivered_seq:
            return []
        if seq == self.delivered_seq + 1:
            self.delivered_seq = seq
            return [message_frame(event.message, self._chat.links)]
        return await self._catch_up(until=seq)

    def advances_ack(self, frame: object) -> bool:
        """Whether `frame` is an ack that moves the acknowledged point forward, up to what was
        delivered. There is at most one such ack per durable frame sent to the client, so they
        need no rate limit of their own."""
        return isinstance(frame, AckFrame) and self.acked_seq < frame.seq <= self.delivered_seq

    def sent(self, frame: Frame) -> None:
        """Told of every frame in the order it was written to the socket, which is the order the
        client reads them in, so both sides judge an `accepted` on the same facts."""
        kind = frame["type"]
        if kind in ("message", "handoff"):
            self.sent_seq = max(self.sent_seq, frame["seq"])
        elif kind == "accepted" and frame["seq"] == self.sent_seq + 1:
            # It delivered the user's message: the echo of it, still to come, is dropped.
            self.sent_seq = frame["seq"]
            self.delivered_seq = max(self.delivered_seq, self.sent_seq)

    async def handle(self, frame: ClientFrame) -> Outcome:
        match frame:
            case SendFrame(client_id=client_id, text=text, attachments=attachment_ids):
                appended = await self._chat.post_user_message(
                    self.tenant_id,
                    self.conversation_id,
                    client_id=str(client_id),
                    text=text,
                    attachment_ids=attachment_ids,
                )
                # Only a new message with words in a conversation still with the assistant wants
                # an answer (a file alone is for people).
                wants_answer = (
                    appended.created
                    and appended.status is ConversationStatus.BOT
                    and bool(appended.message.body)
                )
                return Outcome(
                    frames=[accepted_frame(appended.message, self._chat.links)],
                    new_user_message=appended.message if wants_answer else None,
                )
            case AckFrame(seq=seq):
                if seq > self.delivered_seq:
                    raise BadFrame("ack: seq is beyond what was delivered")
                self.acked_seq = max(self.acked_seq, seq)
                return Outcome()
            case TypingFrame(state=state):
                await self._chat.set_typing(
                    self.tenant_id, self.conversation_id, Author.USER, state
                )
                return Outcome()
            case ReadFrame(seq=seq):
                if seq > self.delivered_seq:
                    raise BadFrame("read: seq is beyond what was delivered")
                await self._chat.mark_read(self.tenant_id, self.conversation_id, Author.USER, seq)
                return Outcome()
            case HandoffFrame():
                await self._chat.request_handoff(self.tenant_id, self.conversation_id)
                return Outcome()
            case (
                AuthFrame()
                | ReauthFrame()
                | ContactFrame()
                | TranscriptFrame()
                | RateFrame()
                | FeedbackFrame()
                | ChooseFrame()
                | UploadFrame()
            ):
                # Auth comes first; the customer's side (chat/customer_side.py) and the
                # assistant's feedback and choices (chat/visit.py) take the rest.
                raise BadFrame(f"{frame.type}: not expected here")

    async def request_handoff(self) -> None:
        """Queue the conversation for a person (a typed request, or the assistant off)."""
        await self._chat.request_handoff(self.tenant_id, self.conversation_id)

    async def _catch_up(self, *, until: int | None) -> list[Frame]:
        frames: list[Frame] = []
        while until is None or self.delivered_seq < until:
            page = await self._chat.history(
                self.tenant_id,
                self.conversation_id,
                after_seq=self.delivered_seq,
                limit=self._page_size,
            )
            for message in page:
                frames.append(message_frame(message, self._chat.links))
                self.delivered_seq = message.seq
            if len(page) < self._page_size:
                break
        return frames
