"""One customer's socket once admitted (TB-01): the rules for each later frame, and for the
identity the socket was opened with. `chat.widget_admission` makes it; the gateway drives it.

- Rates (T-25): every frame counts against the connection's frame rate, except an ack that
  moves the acknowledged point forward (at most one per durable frame sent, so acking a long
  catch-up frame by frame never trips it, docs/protocol.md §4); past the rate, the socket
  closes. Messages count against the end user's message rate; past it, an `error` frame.
- Bad frames get an `error` frame, up to a point; then the socket closes.
- `reauth` renews the identity, for the same end user only (T-22).
- The identity is warned a minute ahead of its expiry and ended at it (T-22); revocation and
  the origin's or app's allowlisting are re-checked for all sockets at once by the identity
  watch.
- A customer's new message in a conversation with the assistant is handed to the assistant to
  answer, through `AnswerScheduler` (chat may not import the assistant), unless the
  organisation's people can be asked for (`chat.reach`) and the message asks for one
  (`chat.person_request`) or the assistant is off: then the conversation is queued for a person
  instead, and the assistant never offers one.
- `ready` tells the widget whether people can be asked for (its "Talk to a person" button).
- `feedback`, a thumbs up or down on one of the assistant's answers, goes to `AnswerRatings`
  (the assistant's, assistant/feedback.py); it counts against the message rate.
- `upload` asks for a ticket to post one file to this conversation over HTTP (T-102,
  chat/attachments.py); it counts against the message rate.
- `choose`, a pick among the entries an assistant's offer named, goes to `OfferedChoices` (the
  assistant's, assistant/choices.py), for the socket's own conversation and end user only; it
  counts against the message rate; a pick names nothing outside the socket's conversation (T-29).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from parlour.chat.admission import (
    BindingWithdrawn,
    Frame,
    IdentityCheck,
    IdentityRevoked,
    Reply,
    TooManyBadFrames,
    TooManyFrames,
)
from parlour.chat.attachments import Attachments
from parlour.chat.broker import Broker
from parlour.chat.clock import Timers
from parlour.chat.customer_side import CustomerSide
from parlour.chat.identity_watch import IdentityWatch
from parlour.chat.models import ConversationEvent, Message
from parlour.chat.person_request import asks_for_a_person
from parlour.chat.protocol import (
    AckFrame,
    ChooseFrame,
    ClientFrame,
    ContactFrame,
    FeedbackFrame,
    HandoffFrame,
    RateFrame,
    ReauthFrame,
    SendFrame,
    TranscriptFrame,
    UploadFrame,
    chosen_frame,
    error_frame,
    feedback_frame,
)
from parlour.chat.protocol import parse_client_frame as parse
from parlour.chat.reach import AssistantOnly, PeopleUnreachable, Reach, Reachability
from parlour.chat.session import ChatSession
from parlour.errors import Conflict, InvalidInput, ParlourError, RateLimited, TokenExpired
from parlour.keys.models import EndUser
from parlour.rate_limits import RateLimits
from parlour.rollups.models import Figure
from parlour.rollups.tally import Tally

REAUTH_WINDOW = timedelta(seconds=60)
# How long a socket trusts what it last read of whom its customer can reach (people, the
# assistant): a switch changed in the dashboard reaches open sockets within this long, and a
# flood of messages costs no reads for it.
REACH_FOR = timedelta(seconds=10)
MAX_BAD_FRAMES = 10
# Which limit refused, as an organisation's security figures count it (Figure.RATE_LIMITED).
LIMIT_FRAMES = "frames"
LIMIT_MESSAGES = "messages"
LIMIT_CONNECTIONS = "connections"


class AnswerScheduler(Protocol):
    """Answers a customer's message in the background; the assistant is one."""

    def schedule_answer(self, message: Message, asker: EndUser) -> None: ...


class AnswerRatings(Protocol):
    """Keeps a customer's thumbs on one of the assistant's answers in their conversation; the
    assistant's `AnswerFeedback` is one. Raises `InvalidInput` for what is not such an answer,
    `Conflict` when it was rated already."""

    async def give(
        self, tenant_id: str, conversation_id: str, message_id: str, thumbs: str
    ) -> str: ...


class OfferedChoices(Protocol):
    """Takes a customer's pick among the entries an assistant's offer in their conversation
    named; the answer follows as a message. The assistant's `Choices` is one. Raises
    `InvalidInput` for what is not such an offer and choice, `Conflict` when it was picked
    already or can no longer be answered."""

    async def choose(
        self, tenant_id: str, conversation_id: str, message_id: str, choice: str, asker: EndUser
    ) -> str: ...


Renew = Callable[[EndUser, str], Awaitable[EndUser]]


@dataclass(frozen=True, slots=True)
class VisitServices:
    """What every visit on a node shares."""

    broker: Broker
    rate_limits: RateLimits
    answers: AnswerScheduler
    watch: IdentityWatch
    clock: Timers
    tally: Tally  # counts the organisation's refusals for a rate
    reach: Reachability = field(default_factory=AssistantOnly)  # whom customers can reach
    # Business hours, addresses for replies, transcripts and ratings (chat/customer_side.py).
    customer: CustomerSide | None = None
    feedback: AnswerRatings | None = None  # thumbs on the assistant's answers
    choices: OfferedChoices | None = None  # picks among the assistant's offers
    attachments: Attachments | None = None  # upload tickets (T-102)


class Visit:
    """The customers' `Admitted` socket."""

    __slots__ = (
        "_agent_seq",
        "_bad_frames",
        "_connection_id",
        "_end",
        "_reach",
        "_renew",
        "_resume_after",
        "_seen_seq",
        "_services",
        "_visitor_token",
        "_warned",
        "session",
    )

    def __init__(
        self,
        session: ChatSession,
        renew: Renew,
        services: VisitServices,
        *,
        connection_id: str,
        resume_after: int | None,
        visitor_token: str | None,
    ) -> None:
        self.session = session
        self._renew = renew
        self._services = services
        self._connection_id = connection_id
        self._resume_after = resume_after
        self._visitor_token = visitor_token
        self._bad_frames = 0
        self._agent_seq = 0  # the latest agent's reply written to this socket
        self._seen_seq = 0  # how far reply mails were called off for what the customer read
        self._warned = False
        self._end: Callable[[ParlourError], None] | None = None
        self._reach: tuple[Reach, datetime] | None = None

    @property
    def identity(self) -> EndUser:
        return self.session.user

    async def start(self) -> list[Frame]:
        reach = await self._reachable()
        frames = await self.session.start(
            self._resume_after, self._visitor_token, people=reach.people
        )
        if self._services.customer is not None:
            frames.extend(await self._services.customer.greeting(self.session, people=reach.people))
        return frames

    async def listen(self, deliver: Callable[[ConversationEvent], None]) -> Callable[[], None]:
        session, broker = self.session, self._services.broker
        return await broker.listen(session.tenant_id, session.conversation_id, deliver)

    def watch(self, end: Callable[[ParlourError], None]) -> Callable[[], None]:
        self._end = end
        watch = self._services.watch
        watch.add(self)
        return lambda: watch.discard(self)

    # What the identity watch calls (chat.identity_watch.Watched).

    def identity_revoked(self) -> None:
        if self._end is not None:
            self._end(IdentityRevoked())

    def binding_refused(self) -> None:
        if self._end is not None:
            self._end(BindingWithdrawn())

    async def handle(self, text: str) -> Reply:
        try:
            parsed: ClientFrame | InvalidInput = parse(text)
        except InvalidInput as problem:
            parsed = problem
        session, limits = self.session, self._services.rate_limits
        if not session.advances_ack(parsed) and not await limits.allow(
            "frame", self._connection_id
        ):
            self._services.tally.add(session.tenant_id, Figure.RATE_LIMITED, LIMIT_FRAMES)
            raise TooManyFrames()
        try:
            if isinstance(parsed, InvalidInput):
                raise parsed
            if isinstance(
                parsed,
                SendFrame | ContactFrame | RateFrame | FeedbackFrame | ChooseFrame | UploadFrame,
            ) and not await limits.allow("message", session.tenant_id, session.user.user_id):
                self._services.tally.add(session.tenant_id, Figure.RATE_LIMITED, LIMIT_MESSAGES)
                raise RateLimited("Too many messages; wait a moment.")
            if isinstance(parsed, ReauthFrame):
                session.user = await self._renew(session.user, parsed.token)
                self._warned = False
                return Reply(renewed=True)
            if isinstance(parsed, ContactFrame | TranscriptFrame | RateFrame):
                if self._services.customer is None:
                    raise InvalidInput(f"{parsed.type}: not offered here")
                return Reply(await self._services.customer.handle(session, parsed))
            if isinstance(parsed, HandoffFrame) and not (await self._reachable()).people:
                # The widget offers no "Talk to a person" then (`ready` says `people: false`).
                refused = PeopleUnreachable()
                return Reply([error_frame(refused.code, refused.message)])
            if isinstance(parsed, FeedbackFrame):
                return Reply(await self._feedback(parsed))
            if isinstance(parsed, ChooseFrame):
                return Reply(await self._choose(parsed))
            if isinstance(parsed, UploadFrame):
                return Reply([self._upload_ticket()])
            outcome = await session.handle(parsed)
            await self._read_up_to(parsed)
        except RateLimited as limited:
            return Reply([error_frame(limited.code, limited.message)])
        except InvalidInput as problem:
            self._bad_frames += 1
            if self._bad_frames > MAX_BAD_FRAMES:
                raise TooManyBadFrames() from None
            return Reply([error_frame(problem.code, problem.message)])
        handed = isinstance(parsed, HandoffFrame)
        if outcome.new_user_message is not None:
            handed = await self._answer(outcome.new_user_message)
        if handed and self._services.customer is not None and (await self._reachable()).people:
            # Asked for a person: told at once when nobody can answer, and offered e-mail.
            return Reply([*outcome.frames, *await self._services.customer.handed_over(session)])
        return Reply(outcome.frames)

    async def _feedback(self, frame: FeedbackFrame) -> list[Frame]:
        feedback, session = self._services.feedback, self.session
        if feedback is None:
            raise InvalidInput("feedback: not offered here")
        try:
            thumbs = await feedback.give(
                session.tenant_id, session.conversation_id, frame.id, frame.thumbs
            )
        except Conflict as refused:
            return [error_frame(refused.code, refused.message)]
        return [feedback_frame(frame.id, thumbs)]

    async def _choose(self, frame: ChooseFrame) -> list[Frame]:
        choices, session = self._services.choices, self.session
        if choices is None:
            raise InvalidInput("choose: not offered here")
        try:
            chosen = await choices.choose(
                session.tenant_id,
                session.conversation_id,
                frame.message_id,
                frame.choice,
                session.user,
            )
        except Conflict as refused:
            return [error_frame(refused.code, refused.message)]
        return [chosen_frame(frame.message_id, chosen)]

    def _upload_ticket(self) -> Frame:
        attachments, session = self._services.attachments, self.session
        if attachments is None:
            raise InvalidInput("upload: not offered here")
        return attachments.ticket_frame(
            session.tenant_id, session.conversation_id, session.user.user_id
        )

    async def _answer(self, message: Message) -> bool:
        """The assistant answers, unless the customer should go to a person: they asked for
        one in so many words, or the assistant is off (a conversation then goes to people with
        its first message, without being asked "would you like a person?"). True when the
        message went to people."""
        reach = await self._reachable()
        if reach.people and (not reach.assistant or asks_for_a_person(message.body)):
            await self.session.request_handoff()
            return True
        self._services.answers.schedule_answer(message, self.session.user)
        return False

    async def _reachable(self) -> Reach:
        now = self._services.clock.now()
        if self._reach is None or now - self._reach[1] >= REACH_FOR:
            self._reach = (await self._services.reach.reach(self.session.tenant_id), now)
        return self._reach[0]

    async def on_event(self, event: ConversationEvent) -> list[Frame]:
        return await self.session.on_event(event)

    def sent(self, frame: Frame) -> None:
        self.session.sent(frame)
        if frame["type"] == "message" and frame.get("author") == "agent":
            self._agent_seq = frame["seq"]

    async def _read_up_to(self, frame: ClientFrame) -> None:
        """An ack of an agent's reply written to this socket: the customer has it, so the reply
        mail owed for it (chat/customer_mail.py) is called off."""
        customer = self._services.customer
        if (
            customer is not None
            and isinstance(frame, AckFrame)
            and frame.seq >= self._agent_seq > self._seen_seq
        ):
            self._seen_seq = self._agent_seq
            await customer.seen(self.session, frame.seq)

    def identity_check(self) -> IdentityCheck:
        expires_at = self.session.user.expires_at
        remaining = expires_at - self._services.clock.now()
        if remaining <= timedelta(0):
            raise TokenExpired("token expired")
        warning = None
        if not self._warned and remaining <= REAUTH_WINDOW:
            self._warned = True
            warning = {"type": "reauth_required", "expires_in": int(remaining.total_seconds())}
        return IdentityCheck(warning, expires_at if self._warned else expires_at - REAUTH_WINDOW)
