"""Who may open the members' live desk socket (T-97): the desk's `Admission`
(chat/admission.py), beside the widget's.

Before the upgrade, on what the socket showed (`DeskKnock`): the address's handshake rate, TLS
in production, then the Origin, which must be the dashboard's own (cross-site WebSocket
hijacking: a page elsewhere whose socket carries the member's cookie is refused before anything
is read with that cookie), then the dashboard session from its cookie, ACTIVE and neither idle
nor expired, read without counting a use (it never extends the idle time, T-41), and the
membership of the organisation in the path, whose role handles conversations (the Inbox's own
permission). A
refusal is one security event and an HTTP answer in the JSON error shape (403, 401, 404, 429),
with no socket. The member's sockets are capped, per address and per member.

After the upgrade, the first frame is `hello` (docs/desk.md), optionally naming the
conversation the page shows; then the socket is a `DeskSocket`, re-checked by the desk watch
(chat/desk_watch.py) for as long as it is open, and counted in the member's presence
(chat/presence.py), which tells the organisation's members when it changes.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from parlour import logs
from parlour.chat.admission import Knock
from parlour.chat.clock import Timers
from parlour.chat.desk import AgentDesk
from parlour.chat.desk_socket import DeskMember, DeskSocket, DeskSocketServices, parse_hello
from parlour.chat.desk_watch import DeskWatch
from parlour.chat.limits import Cap, Caps
from parlour.chat.notes import PrivateNotes
from parlour.chat.presence import Presence
from parlour.chat.service import ChatService
from parlour.errors import Forbidden, NotFound, RateLimited, Unauthenticated, Unavailable
from parlour.identity.authorisation import Authorisation
from parlour.identity.policy import Permission
from parlour.identity.sessions import Sessions
from parlour.observability import security_event
from parlour.rate_limits import RateLimits


@dataclass(frozen=True, slots=True)
class DeskKnock(Knock):
    """What a desk socket showed: `door` is the organisation's id from the path, and the
    dashboard session cookie's value, which only this socket reads."""

    session_token: str | None = None


class ForeignDeskOrigin(Forbidden):
    """A desk socket from a page that is not the dashboard's own (CWE-1385)."""

    code = "desk_origin_refused"
    default_message = "The live desk opens only from the dashboard's own pages."


@dataclass(frozen=True, slots=True)
class DeskLimits:
    own_origin: str  # the dashboard's origin: scheme://host[:port] of the public URL
    sockets_per_member: int
    max_connections_per_ip: int
    history_page_size: int
    tls_only: bool


@dataclass(frozen=True, slots=True)
class DeskEntry:
    knock: DeskKnock
    member: DeskMember


class DeskAdmission:
    def __init__(
        self,
        chat: ChatService,
        desk: AgentDesk,
        sessions: Sessions,
        authorisation: Authorisation,
        rate_limits: RateLimits,
        caps: Caps,
        watch: DeskWatch,
        limits: DeskLimits,
        clock: Timers,
        presence: Presence,
        notes: PrivateNotes,
    ) -> None:
        self._chat = chat
        self._sessions = sessions
        self._authorisation = authorisation
        self._rate_limits = rate_limits
        self._caps = caps
        self._limits = limits
        self._presence = presence
        self._sockets = DeskSocketServices(
            chat,
            desk,
            rate_limits,
            watch,
            clock,
            history_page_size=limits.history_page_size,
            notes=notes,
        )

    @contextlib.asynccontextmanager
    async def admit(self, knock: Knock) -> AsyncIterator[DeskEntry]:
        """Let the knock through, holding its connection caps until the block ends."""
        if not isinstance(knock, DeskKnock):  # without a cookie
            knock = DeskKnock(
                knock.door, knock.origin, knock.client_ip, knock.request_id, knock.secure
            )
        async with contextlib.AsyncExitStack() as held:
            try:
                member = await self._door(knock)
                logs.bind(tenant_id=member.tenant_id)
                caps = [
                    Cap(("ip", knock.client_ip), self._limits.max_connections_per_ip),
                    Cap(
                        ("desk", member.tenant_id, member.account_id),
                        self._limits.sockets_per_member,
                    ),
                ]
                await held.enter_async_context(self._caps.hold(caps))
                await self._chat.broker.subscribed()
            except (Unauthenticated, Forbidden, NotFound, RateLimited, Unavailable) as refused:
                security_event(
                    "desk.handshake_refused",
                    reason=refused.code,
                    tenant_id=knock.door[:64],
                    origin=(knock.origin or "")[:300],
                    ip=knock.client_ip,
                    request_id=knock.request_id,
                )
                raise
            yield DeskEntry(knock, member)

    async def _door(self, knock: DeskKnock) -> DeskMember:
        if not await self._rate_limits.allow("handshake", knock.client_ip):
            raise RateLimited("Too many connection attempts; try again later.")
        if self._limits.tls_only and not knock.secure:
            raise Forbidden("Connect over wss://.")
        # Before the cookie is looked at: another site's page carries it too (T-97).
        if knock.origin != self._limits.own_origin:
            raise ForeignDeskOrigin()
        session = await self._sessions.active(knock.session_token, touch=False)
        membership = await self._authorisation.authorise(
            session, knock.door, Permission.HANDLE_CONVERSATIONS, source_ip=knock.client_ip
        )
        return DeskMember(
            membership.tenant_id, session.account.account_id, membership.role, knock.session_token
        )

    @contextlib.asynccontextmanager
    async def authenticate(self, entry: DeskEntry, first_frame: str) -> AsyncIterator[DeskSocket]:
        """The member's socket, once its first frame is a valid `hello`; the member's presence
        counts it while it is open."""
        hello = parse_hello(first_frame)
        member = entry.member
        socket = DeskSocket(
            member, self._sockets, connection_id=entry.knock.request_id or "", hello=hello
        )
        await self._presence.connected(*member.key)
        try:
            yield socket
        finally:
            await self._presence.disconnected(*member.key)
