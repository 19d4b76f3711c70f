"""One member's live desk socket once admitted (chat/desk_admission.py): the organisation's desk
events as frames, the messages of the conversation the member's page shows, and what a member
sends (docs/desk.md).

- It hears its organisation's desk channel only (T-98). Events name conversations by id; the
  text of a message, or of a private note (T-99: the channel reaches members only), reaches the
  socket only for the conversation its page shows (`hello` or `focus`), read by the socket from
  the database under its own organisation.
- A member may say they are typing in a conversation (the customer's socket hears `typing`
  from an agent, other members hear who), and mark a conversation read up to a number (the
  customer's socket hears `read` by an agent; the member's other pages update their unread
  counts).
- Frames count against the connection's frame rate (past it, the socket closes); a bad frame
  is answered with an `error` frame, up to a point.
- Nothing it does touches the session (T-41); the desk watch re-checks it (chat/desk_watch.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from parlour.audit.events import Actor, ActorType
from parlour.chat.admission import (
    Frame,
    IdentityCheck,
    Reply,
    TooManyBadFrames,
    TooManyFrames,
)
from parlour.chat.clock import Timers
from parlour.chat.desk import AgentDesk
from parlour.chat.desk_events import (
    ConversationChanged,
    DeskEvent,
    DeskRead,
    DeskTyping,
    MessageNoted,
    NoteAdded,
)
from parlour.chat.desk_watch import DeskWatch
from parlour.chat.models import Resync
from parlour.chat.notes import PrivateNotes
from parlour.chat.protocol import (
    PROTOCOL_VERSION,
    BadFrame,
    error_frame,
    message_frame,
    parse_frame,
)
from parlour.chat.service import ChatService
from parlour.errors import InvalidInput, NotFound, ParlourError
from parlour.identity.models import Role
from parlour.rate_limits import RateLimits

MAX_BAD_FRAMES = 10
# A socket has no deadline of its own: the watch ends it. Its timer is set this far ahead.
_NO_DEADLINE = timedelta(days=1)

ConversationId = Annotated[str, Field(min_length=1, max_length=64)]


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class HelloFrame(_Frame):
    """The first frame: optionally the conversation the page shows, and the number of the
    latest message it shows (the socket sends what follows)."""

    type: Literal["hello"]
    conversation_id: ConversationId | None = None
    after_seq: Annotated[int, Field(ge=0)] = 0


class FocusFrame(_Frame):
    type: Literal["focus"]
    conversation_id: ConversationId | None
    after_seq: Annotated[int, Field(ge=0)] = 0


class TypingFrame(_Frame):
    type: Literal["typing"]
    conversation_id: ConversationId
    state: bool


class ReadFrame(_Frame):
    type: Literal["read"]
    conversation_id: ConversationId
    seq: Annotated[int, Field(ge=0)]


DeskClientFrame = Annotated[
    HelloFrame | FocusFrame | TypingFrame | ReadFrame, Field(discriminator="type")
]
_client_frame: TypeAdapter[DeskClientFrame] = TypeAdapter(DeskClientFrame)


def parse(text: str | bytes) -> DeskClientFrame:
    return parse_frame(_client_frame, text)


def parse_hello(text: str) -> HelloFrame:
    frame = parse(text)
    if not isinstance(frame, HelloFrame):
        raise BadFrame(f"the first frame must be hello, not {frame.type}")
    return frame


@dataclass(frozen=True, slots=True)
class DeskMember:
    tenant_id: str
    account_id: str
    role: Role
    session_token: str | None  # kept to re-check the session; never logged nor sent

    @property
    def key(self) -> tuple[str, str]:
        return self.tenant_id, self.account_id

    @property
    def actor(self) -> Actor:
        return Actor(ActorType.ACCOUNT, self.account_id)


@dataclass(frozen=True, slots=True)
class DeskSocketServices:
    """What every desk socket on a node shares."""

    chat: ChatService
    desk: AgentDesk  # a member's typing and reading, as every transport does them
    rate_limits: RateLimits
    watch: DeskWatch
    clock: Timers
    history_page_size: int
    notes: PrivateNotes  # a note's text, for the page that shows its conversation


@dataclass(slots=True)
class _Focus:
    conversation_id: str
    delivered_seq: int


@dataclass(slots=True)
class _State:
    focus: _Focus | None = None
    bad_frames: int = 0
    end: Callable[[ParlourError], None] | None = field(default=None)


class DeskSocket:
    """The members' `Admitted` socket (chat/admission.py), hearing desk events."""

    __slots__ = ("_connection_id", "_hello", "_services", "_state", "member")

    def __init__(
        self,
        member: DeskMember,
        services: DeskSocketServices,
        *,
        connection_id: str,
        hello: HelloFrame,
    ) -> None:
        self.member = member
        self._services = services
        self._connection_id = connection_id
        self._hello = hello
        self._state = _State()

    # What the desk watch reads and calls (chat.desk_watch.Watched).

    @property
    def tenant_id(self) -> str:
        return self.member.tenant_id

    @property
    def session_token(self) -> str | None:
        return self.member.session_token

    def ended(self, error: ParlourError) -> None:
        if self._state.end is not None:
            self._state.end(error)

    # The Admitted socket.

    async def start(self) -> list[Frame]:
        frames: list[Frame] = [
            {
                "type": "ready",
                "protocol": PROTOCOL_VERSION,
                "tenant_id": self.member.tenant_id,
                "account_id": self.member.account_id,
                "role": self.member.role.value,
            }
        ]
        hello = self._hello
        if hello.conversation_id is not None:
            try:
                frames += await self._focus(hello.conversation_id, hello.after_seq)
            except NotFound as missing:
                frames.append(error_frame(missing.code, missing.message))
        return frames

    async def listen(self, deliver: Callable[[DeskEvent | Resync], None]) -> Callable[[], None]:
        return await self._services.chat.broker.listen_desk(self.member.tenant_id, deliver)

    def watch(self, end: Callable[[ParlourError], None]) -> Callable[[], None]:
        self._state.end = end
        watch = self._services.watch
        watch.add(self)
        return lambda: watch.discard(self)

    async def handle(self, text: str) -> Reply:
        if not await self._services.rate_limits.allow("frame", self._connection_id):
            raise TooManyFrames()
        try:
            return Reply(await self._handle(parse(text)))
        except (InvalidInput, NotFound) as problem:
            self._state.bad_frames += 1
            if self._state.bad_frames > MAX_BAD_FRAMES:
                raise TooManyBadFrames() from None
            return Reply([error_frame(problem.code, problem.message)])

    async def _handle(self, frame: DeskClientFrame) -> list[Frame]:
        desk, member = self._services.desk, self.member
        match frame:
            case FocusFrame(conversation_id=None):
                self._state.focus = None
                return []
            case FocusFrame(conversation_id=str(conversation_id), after_seq=after_seq):
                return await self._focus(conversation_id, after_seq)
            case TypingFrame(conversation_id=conversation_id, state=state):
                await desk.typing(member.tenant_id, conversation_id, state, actor=member.actor)
                return []
            case ReadFrame(conversation_id=conversation_id, seq=seq):
                await desk.read(member.tenant_id, conversation_id, seq, actor=member.actor)
                return []
            case HelloFrame():
                raise BadFrame("hello: not expected here")
        raise BadFrame("unexpected frame")  # pragma: no cover (the match is exhaustive)

    async def _focus(self, conversation_id: str, after_seq: int) -> list[Frame]:
        """Show this conversation's messages after `after_seq` from now on; those stored
        already are sent at once. Another organisation's conversation is no such conversation
        (T-98)."""
        conversation = await self._services.chat.get_conversation(
            self.member.tenant_id, conversation_id
        )
        self._state.focus = _Focus(conversation_id, min(after_seq, conversation.last_seq))
        return await self._catch_up(until=conversation.last_seq)

    async def on_event(self, event: DeskEvent | Resync) -> list[Frame]:
        if isinstance(event, Resync):
            return []  # the gateway closes the socket: the client reconnects and reloads
        own = self.member.account_id
        if isinstance(event, DeskTyping) and event.account_id == own:
            return []  # a member need not hear their own typing
        if isinstance(event, DeskRead) and event.account_id != own:
            return []  # read marks count for their own member only
        focus = self._state.focus
        if isinstance(event, NoteAdded):
            return [await self._note(event, focus)]
        frames = [event.frame()]
        if focus is not None and isinstance(event, MessageNoted | ConversationChanged):
            seq = event.seq if isinstance(event, MessageNoted) else event.last_seq
            if event.conversation_id == focus.conversation_id and seq > focus.delivered_seq:
                frames += await self._catch_up(until=seq)
        return frames

    async def _note(self, event: NoteAdded, focus: _Focus | None) -> Frame:
        """A note added: with its text for the conversation the page shows (read here, under the
        member's own organisation), by its id for any other."""
        notes = self._services.notes
        if focus is None or event.conversation_id != focus.conversation_id:
            return event.frame()
        try:
            note = await notes.note(self.member.tenant_id, event.conversation_id, event.note_id)
        except NotFound:
            return event.frame()
        return {
            **event.frame(),
            "author_id": note.author_id,
            "text": note.body,
            "created_at": note.created_at.isoformat().replace("+00:00", "Z"),
        }

    async def _catch_up(self, *, until: int) -> list[Frame]:
        focus = self._state.focus
        frames: list[Frame] = []
        page_size = self._services.history_page_size
        while focus is not None and focus.delivered_seq < until:
            page = await self._services.chat.history(
                self.member.tenant_id,
                focus.conversation_id,
                after_seq=focus.delivered_seq,
                limit=page_size,
            )
            for message in page:
                links = self._services.chat.links
                frames.append(
                    {**message_frame(message, links), "conversation_id": focus.conversation_id}
                )
                focus.delivered_seq = message.seq
            if len(page) < page_size:
                break
        return frames

    def sent(self, frame: Frame) -> None:
        return None

    def identity_check(self) -> IdentityCheck:
        return IdentityCheck(None, self._services.clock.now() + _NO_DEADLINE)
