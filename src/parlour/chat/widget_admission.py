"""Who may open the customers' chat socket, and as whom (TB-01): the widget's `Admission`.

Before the upgrade: the address's handshake rate, TLS in production, the widget, and the Origin
against the organisation's allowlist (or, with no Origin, that it has apps at all). An unknown
widget and a foreign origin are refused alike: no existence oracle (T-29). On the first frame:
an end user's token (T-21), bound to the socket's origin or to an allowlisted app (T-18), or an
anonymous visitor where the organisation allows them (T-04); then one end user, one
conversation. Every refusal before the upgrade, and every refused token, is one security event;
those of a known organisation (its widget found) are counted in its security figures too: a
foreign origin, a refused token by its error code, a full connection cap (T-106's alerts).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass

from parlour import logs
from parlour.chat.admission import IdentityChanged, Knock, OriginMismatch, VisitorsNotAllowed
from parlour.chat.attachments import Attachments
from parlour.chat.clock import Timers
from parlour.chat.customer_side import CustomerSide
from parlour.chat.customers import CustomerProfiles
from parlour.chat.identity_watch import IdentityWatch
from parlour.chat.limits import Cap, Caps
from parlour.chat.protocol import AuthFrame, BadAuthFrame, parse_client_frame
from parlour.chat.reach import AssistantOnly, Reachability
from parlour.chat.service import ChatService
from parlour.chat.session import ChatSession
from parlour.chat.visit import (
    LIMIT_CONNECTIONS,
    AnswerRatings,
    AnswerScheduler,
    OfferedChoices,
    Visit,
    VisitServices,
)
from parlour.errors import (
    AppNotAllowed,
    Forbidden,
    InvalidInput,
    InvalidToken,
    OriginNotAllowed,
    ParlourError,
    RateLimited,
    TokenExpired,
    Unavailable,
)
from parlour.keys.end_user_tokens import EndUserTokens
from parlour.keys.models import EndUser
from parlour.observability import security_event
from parlour.rate_limits import RateLimits
from parlour.rollups.models import Figure
from parlour.rollups.tally import Tally
from parlour.tenants.models import Tenant
from parlour.tenants.service import TenantService


@dataclass(frozen=True, slots=True)
class WidgetLimits:
    history_page_size: int
    max_connections_per_ip: int
    max_connections_per_tenant: int
    max_connections_per_user: int
    tls_only: bool  # production: sockets only over wss://


@dataclass(frozen=True, slots=True)
class WidgetEntry:
    """A knock let through the door: the organisation whose widget it is."""

    tenant: Tenant
    knock: Knock


class WidgetAdmission:
    def __init__(
        self,
        chat: ChatService,
        tenants: TenantService,
        tokens: EndUserTokens,
        rate_limits: RateLimits,
        caps: Caps,
        answers: AnswerScheduler,
        watch: IdentityWatch,
        limits: WidgetLimits,
        clock: Timers,
        tally: Tally,
        reach: Reachability | None = None,
        customer: CustomerSide | None = None,
        profiles: CustomerProfiles | None = None,
        feedback: AnswerRatings | None = None,
        choices: OfferedChoices | None = None,
        attachments: Attachments | None = None,
    ) -> None:
        self._profiles = profiles
        self._chat = chat
        self._tenants = tenants
        self._tokens = tokens
        self._rate_limits = rate_limits
        self._caps = caps
        self._limits = limits
        self._clock = clock
        self._tally = tally
        self._visits = VisitServices(
            chat.broker,
            rate_limits,
            answers,
            watch,
            clock,
            tally,
            reach or AssistantOnly(),
            customer,
            feedback,
            choices,
            attachments,
        )

    @contextlib.asynccontextmanager
    async def admit(self, knock: Knock) -> AsyncIterator[WidgetEntry]:
        """Let the knock through, holding its connection caps (per address and organisation)
        until the block ends; once this node hears what other nodes publish (it may be
        subscribing again after losing Redis), else the socket would miss it, silently."""
        async with contextlib.AsyncExitStack() as held:
            try:
                tenant = await self._door(knock)
                # The socket's records from here on name its organisation.
                logs.bind(tenant_id=tenant.tenant_id)
                caps = [
                    Cap(("ip", knock.client_ip), self._limits.max_connections_per_ip),
                    Cap(("tenant", tenant.tenant_id), self._limits.max_connections_per_tenant),
                ]
                try:
                    await held.enter_async_context(self._caps.hold(caps))
                except RateLimited:
                    self._tally.add(tenant.tenant_id, Figure.RATE_LIMITED, LIMIT_CONNECTIONS)
                    raise
                await self._chat.broker.subscribed()
            except (Forbidden, RateLimited, Unavailable) as refused:
                security_event(
                    "chat.handshake_refused",
                    reason=refused.code,
                    widget_id=knock.door[:64],
                    origin=(knock.origin or "")[:300],
                    ip=knock.client_ip,
                    request_id=knock.request_id,
                )
                raise
            yield WidgetEntry(tenant, knock)

    async def _door(self, knock: Knock) -> Tenant:
        if not await self._rate_limits.allow("handshake", knock.client_ip):
            raise RateLimited("Too many connection attempts; try again later.")
        if self._limits.tls_only and not knock.secure:
            raise Forbidden("Connect over wss://.")
        tenant = await self._tenants.find_by_widget_id(knock.door)
        # Unknown widget and foreign origin look the same from outside: no existence oracle.
        if tenant is None:
            raise OriginNotAllowed()
        if knock.origin is None:
            # Browsers always send an Origin; only the organisation's mobile apps may omit it,
            # and their tokens must then name an allowlisted app.
            if not await self._tenants.has_app(tenant.tenant_id):
                raise self._foreign(tenant)
            return tenant
        try:
            await self._tenants.require_origin(tenant.tenant_id, knock.origin)
        except OriginNotAllowed:
            raise self._foreign(tenant) from None
        return tenant

    def _foreign(self, tenant: Tenant) -> OriginNotAllowed:
        """Refused for its origin (or, without one, because the organisation has no apps),
        counted for the organisation whose widget it named."""
        self._tally.add(tenant.tenant_id, Figure.FOREIGN_ORIGINS)
        return OriginNotAllowed()

    @contextlib.asynccontextmanager
    async def authenticate(self, entry: WidgetEntry, first_frame: str) -> AsyncIterator[Visit]:
        """The visit the first frame opens: one end user's socket on their conversation, held
        under the end user's connection cap until the block ends."""
        try:
            frame = parse_client_frame(first_frame)
        except InvalidInput as bad:
            raise BadAuthFrame(f"the first frame must be a valid auth: {bad.message}") from None
        if not isinstance(frame, AuthFrame):
            raise BadAuthFrame(f"the first frame must be auth, not {frame.type}")
        visitor_token = None
        if frame.token is not None:
            user = await self._verify(entry, frame.token, entry.knock.origin)
            await self._remember(user)
        else:
            user, visitor_token = await self._visitor(entry, frame)
        tenant_id = entry.tenant.tenant_id
        conversation = await self._chat.open_conversation(tenant_id, user.user_id)
        session = ChatSession(
            self._chat, user, conversation, page_size=self._limits.history_page_size
        )
        user_cap = Cap(("user", tenant_id, user.user_id), self._limits.max_connections_per_user)
        async with self._caps.hold([user_cap]):
            yield Visit(
                session,
                functools.partial(self.renew, entry),
                self._visits,
                connection_id=entry.knock.request_id or "",
                resume_after=frame.last_seq,
                visitor_token=visitor_token,
            )

    async def renew(self, entry: WidgetEntry, user: EndUser, token: str) -> EndUser:
        """The identity a `reauth` token proves on the socket `entry` let in, bound as the
        socket's was; only the same end user may renew a socket (T-22)."""
        renewed = await self._verify(entry, token, user.origin, visitor=user.visitor)
        if renewed.user_id != user.user_id:
            raise IdentityChanged()
        await self._remember(renewed)
        return renewed

    async def _remember(self, user: EndUser) -> None:
        """Keep the verified claims for the desk's customer panel (never a visitor's)."""
        if self._profiles is not None and not user.visitor:
            await self._profiles.remember(user)

    async def _visitor(self, entry: WidgetEntry, frame: AuthFrame) -> tuple[EndUser, str]:
        """An anonymous visitor, if the organisation allows them: a fresh identity, or the one a
        visitor token names. Either way a new visitor token is issued (the old one is used up)."""
        tenant, origin = entry.tenant, entry.knock.origin
        if not tenant.anonymous_visitors:
            raise self._refused(entry, VisitorsNotAllowed())
        visitor_id = None
        if frame.visitor_token is not None:
            visitor_id = (
                await self._verify(entry, frame.visitor_token, origin, visitor=True)
            ).user_id
        app_id = None
        if origin is None:
            # A visitor of a mobile app names its app in a header; only allowlisted apps pass.
            app_id = entry.knock.app_id
            if not app_id:
                raise AppNotAllowed("a connection without Origin must name its app")
        minted = await self._tokens.mint_visitor(
            tenant.tenant_id,
            widget_id=tenant.widget_id,
            origin=origin,
            app_id=app_id,
            visitor_id=visitor_id,
        )
        user = await self._verify(entry, minted.token, origin, visitor=True)
        next_token = await self._tokens.mint_visitor(
            tenant.tenant_id,
            widget_id=tenant.widget_id,
            origin=origin,
            app_id=app_id,
            visitor_id=user.user_id,
        )
        return user, next_token.token

    async def _verify(
        self, entry: WidgetEntry, token: str, origin: str | None, *, visitor: bool = False
    ) -> EndUser:
        tenant = entry.tenant
        try:
            user = await self._tokens.verify(
                tenant.tenant_id, tenant.widget_id, token, visitor=visitor
            )
        except InvalidToken:
            raise self._refused(entry, InvalidToken("invalid token")) from None
        if user.expires_at <= self._clock.now():
            # Inside the leeway that forgives clocks a little apart: it would open a session
            # already past its end. Refused, so the client fetches a fresh token.
            raise self._refused(entry, TokenExpired())
        if origin is not None and user.origin != origin:
            raise self._refused(entry, OriginMismatch())
        if origin is None:
            try:
                await self._tenants.require_app(tenant.tenant_id, user.app_id or "")
            except AppNotAllowed:
                refused = AppNotAllowed("token is not for an allowed app")
                raise self._refused(entry, refused) from None
        return user

    def _refused(self, entry: WidgetEntry, error: ParlourError) -> ParlourError:
        """`error`, recorded first as a security event, and counted by its code."""
        self._tally.add(entry.tenant.tenant_id, Figure.TOKEN_FAILURES, error.code)
        security_event(
            "chat.auth_refused",
            reason=error.code,
            tenant_id=entry.tenant.tenant_id,
            ip=entry.knock.client_ip,
            request_id=entry.knock.request_id,
        )
        return error
