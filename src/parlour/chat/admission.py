"""Who may open a chat socket, and as whom (TB-01): the shape every kind of socket is let in by,
and the errors that refuse it. The rules live here, in chat; the socket work stays in the gateway.

A socket is let in in two steps, by an `Admission` of its kind:

1. `admit(knock)`, before the upgrade, on what the socket showed (a `Knock`: the door it asks
   for, its Origin, its address, whether it came over TLS). It yields an entry (whose door it
   is, with the connection caps held while the socket is open), or refuses with `Forbidden`,
   `RateLimited` or `Unavailable` (the desk's also `Unauthenticated` and `NotFound`): an HTTP
   answer in the JSON error shape, and no socket.
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
`chat.visit.Visit` hearing its conversation's events. The members' live desk socket plugs in
beside it: `chat.desk_admission.DeskAdmission` takes a `Knock` subclass carrying the dashboard
session cookie's value and lets it through when the Origin is the dashboard's own and the
session is a member's whose role handles conversations (refusing before the upgrade with
`Unauthenticated`, `Forbidden` or `NotFound` too, which the gateway denies alike); its
`authenticate` binds the socket from its first frame (`hello`); and its admitted socket,
`chat.desk_socket.DeskSocket`, hears the organisation's desk events (`Admitted` is generic in
what a socket hears), is re-checked by `chat.desk_watch.DeskWatch`, and has no deadline of its
own. The gateway's `Connection` drives any `Admission`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from parlour.errors import Forbidden, InvalidInput, ParlourError, RateLimited, Unauthenticated

Frame = dict[str, Any]
Entry = TypeVar("Entry")
# What a socket hears: a conversation's events (a customer's socket), or the desk's.
Event = TypeVar("Event")
Admitted_co = TypeVar("Admitted_co", bound="Admitted[Any]", covariant=True)


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


class Admitted(Protocol[Event]):
    """A socket let in and bound to one principal: what the gateway drives after the upgrade.
    Every method raises domain errors; any error out of them closes the socket."""

    async def start(self) -> list[Frame]:
        """The frames that open the socket (`ready`, then what the client has not seen)."""
        ...

    async def listen(self, deliver: Callable[[Event], None]) -> Callable[[], None]:
        """Hear the events of what the socket is bound to; the returned function stops.
        Returns once events from every node reach `deliver`, so that `start` reads history
        after it: nothing published in between is missed. Raises `Unavailable` if that does
        not come about soon."""
        ...

    def watch(self, end: Callable[[ParlourError], None]) -> Callable[[], None]:
        """Have the principal re-checked while the socket is open; `end` closes it with the
        error that says why. The returned function stops the watching."""
        ...

    async def handle(self, text: str) -> Reply:
        """One frame from the client: its rates counted, then handled. A problem the client can
        correct is answered with an `error` frame; anything raised closes the socket."""
        ...

    async def on_event(self, event: Event) -> list[Frame]: ...

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
