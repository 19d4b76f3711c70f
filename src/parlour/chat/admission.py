"""Who may open a chat socket, and as whom (TB-01): the shape every kind of socket is let in by,
and the errors that refuse it. The rules live here, in chat; the socket work stays in the gateway.

A socket is let in in two steps, by an `Admission` of its kind:

1. `admit(knock)`, before the upgrade, on what the socket showed (a `Knock`: the door it asks
   for, its Origin, its address, whether it came over TLS). It yields an entry (whose door it
   is, with the connection caps held while the socket is open), or refuses with `Forbidden`,
   `RateLimited` or `Unavailable`: an HTTP answer in the JSON error shape, and no socket.
2. `authenticate(entry, first_frame)`, after the upgrade, on the socket's first frame. It yields
   the `Admitted` socket, bound to one principal, or refuses with `Unauthenticated` (4401) or
   `Forbidden` (4403): the socket closes.

Both are async context managers, so whatever they hold is released when the socket ends. They
raise domain errors only, each with its stable code; `parlour.web.errors` is the one table that
turns them into an HTTP status or a close code. The gateway (`parlour.web.gateway`) does the
socket work around them: it reads the headers into a `Knock`, accepts or denies, times the first
frame, runs the frame loop and the outbox, and sets the timers an `Admitted` asks for, on the
`Timers` its rules read.

The customers' socket is `chat.widget_admission.WidgetAdmission`, whose admitted socket is a
`chat.visit.Visit`. A second kind plugs in beside it, as the agents' socket of the live desk
will: a `DeskAdmission` whose `admit` takes a `Knock` subclass carrying the dashboard session
cookie's value and lets it through when the session is a member's and the Origin is the
dashboard's own (refusing with the same kinds of error, so the gateway denies it alike); whose
`authenticate` binds the socket to that member from its first frame; and whose admitted socket
implements `Admitted` for the desk's frames (its `listen` hears the desk's conversations, its
`watch` re-checks the session, its `identity_check` ends it with the session). The gateway's
`Connection` drives any `Admission`: the desk's route reads its `Knock` from the socket and runs
a `Connection` with the desk's admission.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from parlour.chat.models import ConversationEvent
from parlour.errors import Forbidden, InvalidInput, ParlourError, RateLimited, Unauthenticated

Frame = dict[str, Any]
Entry = TypeVar("Entry")
Admitted_co = TypeVar("Admitted_co", bound="Admitted", covariant=True)


@dataclass(frozen=True, slots=True)
class Knock:
    """What a socket showed before its upgrade, as the transport read it."""

    door: str  # what it asks for: the customers' socket names a widget id
    origin: str | None
    client_ip: str
    request_id: str | None  # this connection's id, in logs and security events
    secure: bool  # over TLS, directly or through a trusted proxy
    app_id: str | None = None  # without an Origin, the mobile app it names (X-Parlour-App)


@dataclass(slots=True)
class Reply:
    """What one client frame produced: frames for this client, and whether the identity was
    renewed (its deadline is counted again)."""

    frames: list[Frame] = field(default_factory=list)
    renewed: bool = False


@dataclass(frozen=True, slots=True)
class IdentityCheck:
    """What the identity's deadline asks for now: a warning to send, if any, and when to check
    again."""

    warning: Frame | None
    next_at: datetime


class Admitted(Protocol):
    """A socket let in and bound to one principal: what the gateway drives after the upgrade.
    Every method raises domain errors; any error out of them closes the socket."""

    async def start(self) -> list[Frame]:
        """The frames that open the socket (`ready`, then what the client has not seen)."""
        ...

    def listen(self, deliver: Callable[[ConversationEvent], None]) -> Callable[[], None]:
        """Hear the events of what the socket is bound to; the returned function stops."""
        ...

    def watch(self, end: Callable[[ParlourError], None]) -> Callable[[], None]:
        """Have the principal re-checked while the socket is open; `end` closes it with the
        error that says why. The returned function stops the watching."""
        ...

    async def handle(self, text: str) -> Reply:
        """One frame from the client: its rates counted, then handled. A problem the client can
        correct is answered with an `error` frame; anything raised closes the socket."""
        ...

    async def on_event(self, event: ConversationEvent) -> list[Frame]: ...

    def sent(self, frame: Frame) -> None:
        """Told of every frame in the order it was written to the socket."""
        ...

    def identity_check(self) -> IdentityCheck:
        """Raises when the identity has run out."""
        ...


class Admission(Protocol[Entry, Admitted_co]):
    """The rules one kind of socket is let in by (see the module's docstring)."""

    def admit(self, knock: Knock) -> contextlib.AbstractAsyncContextManager[Entry]: ...

    def authenticate(
        self, entry: Entry, first_frame: str
    ) -> contextlib.AbstractAsyncContextManager[Admitted_co]: ...


class AuthenticationTimedOut(Unauthenticated):
    code = "auth_timeout"
    default_message = "authentication timed out"


class OriginMismatch(Forbidden):
    """The token is bound to another allowlisted origin, or to an app (T-18)."""

    code = "origin_mismatch"
    default_message = "token is for another origin"


class VisitorsNotAllowed(Forbidden):
    code = "anonymous_visitors_off"
    default_message = "anonymous chat is not available here"


class IdentityChanged(Unauthenticated):
    """A `reauth` naming another user than the socket's (T-22)."""

    code = "identity_changed"
    default_message = "token is for another user"


class IdentityRevoked(Unauthenticated):
    """While the socket was open, its end user, token or signing key was revoked (T-22)."""

    code = "identity_revoked"
    default_message = "revoked"


class BindingWithdrawn(Forbidden):
    """While the socket was open, its origin or app left the organisation's allowlist (T-18)."""

    code = "binding_withdrawn"
    default_message = "this origin or app is no longer allowed"


class TooManyFrames(RateLimited):
    code = "too_many_frames"
    default_message = "too many frames; slow down"


class TooManyBadFrames(InvalidInput):
    code = "too_many_bad_frames"
    default_message = "too many bad frames"
