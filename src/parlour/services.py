"""build_services(settings): the one place where collaborators are created and wired.

Past 400 lines on purpose: this is the catalogue of a node's services, every constructor call
in one place, so that the wiring reads top to bottom and nothing else constructs a service.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from opentelemetry.trace import Tracer
from redis.asyncio import Redis

from parlour import metrics
from parlour.alerts.report import SecurityFigures
from parlour.alerts.service import SecurityAlerts
from parlour.assistant.budgets import Budgets
from parlour.assistant.configuration import AssistantConfiguration
from parlour.assistant.mcp_tools import McpTools
from parlour.assistant.providers import Providers
from parlour.assistant.rehearsal import REHEARSAL, Rehearsal
from parlour.assistant.service import AssistantService, TurnLimits
from parlour.assistant.tools import ToolSource
from parlour.audit.checkpoints import CheckpointSigner
from parlour.audit.service import AuditLog
from parlour.chat.attachment_links import AttachmentLinks
from parlour.chat.attachments import AttachmentLimits, Attachments
from parlour.chat.auto_assignment import AutoAssignment
from parlour.chat.availability import Availability
from parlour.chat.broker import Broker, InProcessBroker
from parlour.chat.canned_replies import CannedReplies
from parlour.chat.clock import SystemClock, Timers, timers_of
from parlour.chat.customer_mail import PER_TENANT as CUSTOMER_MAIL_PER_TENANT
from parlour.chat.customer_mail import PER_USER as CUSTOMER_MAIL_PER_USER
from parlour.chat.customer_mail import CustomerMail
from parlour.chat.customer_side import CustomerSide
from parlour.chat.customers import CustomerProfiles
from parlour.chat.desk import AgentDesk
from parlour.chat.desk_admission import DeskAdmission, DeskLimits
from parlour.chat.desk_marks import DeskMarks
from parlour.chat.desk_watch import DeskWatch
from parlour.chat.identity_watch import IdentityWatch
from parlour.chat.limits import Caps, ConnectionCaps, RedisConnectionCaps
from parlour.chat.notes import PrivateNotes
from parlour.chat.presence import LiveSockets, LocalSockets, Presence, RedisSockets
from parlour.chat.ratings import Ratings
from parlour.chat.redis_broker import RedisBroker
from parlour.chat.service import ChatService
from parlour.chat.teams import Teams
from parlour.chat.widget_admission import WidgetAdmission, WidgetLimits
from parlour.crypto.derive import derive_key
from parlour.crypto.kms import LocalKms
from parlour.crypto.master_key import load_master_key, load_previous_master_keys
from parlour.crypto.vault import Vault
from parlour.customers.panel import CustomerPanel
from parlour.egress import EgressGuard, Resolver
from parlour.features import OrganisationFeatures
from parlour.identity.accounts import Accounts
from parlour.identity.authorisation import Authorisation
from parlour.identity.email_verification import EmailVerification
from parlour.identity.enrolment import MfaEnrolment
from parlour.identity.login import Login
from parlour.identity.mail import Mailer, OutboxMailer, SmtpMailer
from parlour.identity.members import MemberService
from parlour.identity.password_change import PasswordChange
from parlour.identity.password_reset import PasswordReset
from parlour.identity.passwords import Passwords
from parlour.identity.platform_staff import PlatformStaff
from parlour.identity.second_factor import SecondFactor
from parlour.identity.sessions import SessionPolicy, Sessions
from parlour.identity.signup import SignUp
from parlour.identity.step_up import StepUp
from parlour.identity.verification import OrganisationVerification
from parlour.keys.api_keys import ApiKeys
from parlour.keys.call_tokens import CallTokens
from parlour.keys.client_keys import ClientKeys
from parlour.keys.end_user_tokens import EndUserTokens
from parlour.keys.replay import DatabaseReplayCache, RedisReplayCache, ReplayCache
from parlour.keys.revocation import EndUserRevocations
from parlour.keys.signing_keys import SigningKeys
from parlour.knowledge.embeddings import Embedder, shared_minilm
from parlour.knowledge.imports import KnowledgeImports
from parlour.knowledge.learned import LearningLimits
from parlour.knowledge.remote_embeddings import RemoteEmbedder
from parlour.knowledge.service import KnowledgeService
from parlour.llm.local import LocalProvider
from parlour.llm.provider import Provider
from parlour.mcp_bridge.client import McpBridge
from parlour.mcp_bridge.configuration import McpConfiguration
from parlour.rate_limits import RateLimits
from parlour.reports.service import Reports, daily_budget
from parlour.rollups.tally import Tally
from parlour.search.indexer import SearchIndexer
from parlour.search.service import ConversationSearch
from parlour.settings import AssistantSettings, KnowledgeSettings, Settings
from parlour.shared_redis import broker_client, shared_pool
from parlour.storage.database import Database
from parlour.storage.migrate import migrate
from parlour.storage.types import Clock, utcnow
from parlour.tenants.activity import PlatformActivity
from parlour.tenants.appearance_service import WidgetAppearance
from parlour.tenants.business_hours_service import BusinessHoursService
from parlour.tenants.service import TenantService
from parlour.tracing import tracer_of
from parlour.webhooks.dispatcher import WebhookDispatcher
from parlour.webhooks.endpoints import WebhookEndpoints
from parlour.webhooks.organisation_events import OrganisationEvents

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    db: Database
    broker: Broker
    vault: Vault
    audit: AuditLog
    tenants: TenantService
    features: OrganisationFeatures
    # Dashboard accounts, a service per use case.
    accounts: Accounts
    signup: SignUp
    email_verification: EmailVerification
    login: Login
    sessions: Sessions
    step_up: StepUp
    mfa_enrolment: MfaEnrolment
    password_reset: PasswordReset
    password_change: PasswordChange
    platform_staff: PlatformStaff
    authorisation: Authorisation
    members: MemberService
    verification: OrganisationVerification
    mcp_servers: McpConfiguration
    mcp_bridge: McpBridge
    egress: EgressGuard
    # Keys and the tokens they sign, a service per concept.
    api_keys: ApiKeys
    signing_keys: SigningKeys
    client_keys: ClientKeys
    end_user_tokens: EndUserTokens
    end_user_revocations: EndUserRevocations
    call_tokens: CallTokens
    knowledge: KnowledgeService
    # Uploads imported in the background, with progress (knowledge/imports.py).
    knowledge_imports: KnowledgeImports
    chat: ChatService
    desk: AgentDesk
    # The agents' tools: private notes on a conversation (T-99), the organisation's canned replies.
    notes: PrivateNotes
    canned_replies: CannedReplies
    # The desk's people: teams, members' presence, and auto-assignment among them.
    teams: Teams
    presence: Presence
    auto_assignment: AutoAssignment
    # Search across an organisation's conversations, and its index's writer (docs/search.md).
    search: ConversationSearch
    search_indexer: SearchIndexer
    customer_panel: CustomerPanel
    assistant: AssistantService
    rehearsal: Rehearsal  # the dashboard's "try a question" console
    rate_limits: RateLimits
    connection_caps: Caps
    identity_watch: IdentityWatch
    widget_admission: WidgetAdmission
    # The members' live desk socket (docs/desk.md) and the re-checks of those open (T-97).
    desk_watch: DeskWatch
    desk_admission: DeskAdmission
    desk_marks: DeskMarks
    webhook_endpoints: WebhookEndpoints
    webhook_dispatcher: WebhookDispatcher
    # Files attached to messages by customers and agents (T-102).
    attachments: Attachments
    # The desk's customer side when nobody is there: business hours, mail to customers
    # (offline replies, transcripts), and customers' ratings (issue 22, T-101).
    business_hours: BusinessHoursService
    customer_mail: CustomerMail
    ratings: Ratings
    # How each organisation's widget looks: its public config and logo (issue 24).
    widget_appearance: WidgetAppearance
    # Counts for reports, kept as events happen and added to the database every few seconds.
    tally: Tally
    # The operator's view of every organisation: verification, volumes, error rates.
    platform_activity: PlatformActivity
    # The organisation's reports, read from those counts and conversations' recorded moments.
    reports: Reports
    # An organisation's security figures per day, and alerts when one jumps (T-106).
    security_figures: SecurityFigures
    security_alerts: SecurityAlerts
    # The time every service here reads, for what a route or command computes from "now",
    # and the sockets' timers on it.
    clock: Clock = utcnow
    timers: Timers = field(default_factory=SystemClock)
    redis: Redis | None = None
    # What the chat sockets, the chat and the assistant trace with (parlour.tracing).
    tracer: Tracer = field(default_factory=lambda: tracer_of(None))

    async def start(self) -> None:
        """Start what runs in the background of a serving node (the shared broker's listener,
        connection lease renewal). Production refuses a database role that row-level security
        does not bind (T-31)."""
        if await self.db.role_bypasses_row_security():
            problem = (
                "the database role is a superuser or has BYPASSRLS, so row-level security "
                "does not hold it (T-31); connect as a plain role that owns the tables"
            )
            if self.settings.is_production:
                raise RuntimeError(f"production refuses this database: {problem}")
            log.warning(problem)
        await self.login.prepare()
        await self.broker.start()
        await self.connection_caps.start()
        await self.presence.start()
        self.webhook_dispatcher.start()
        self.customer_mail.start()
        self.tally.start()
        self.security_alerts.start()
        if self.settings.search.index_seconds > 0:
            self.search_indexer.start()
        self.knowledge_imports.start()

    async def migrate(self) -> None:
        await migrate(self.db)

    async def failing_checks(self) -> list[str]:
        """What readiness (`/readyz`) checks, by name, and which of those fail now: the
        database; Redis when configured; the local model when it is the default provider,
        loaded or loadable. Each is bounded in time; names only, never why."""
        checks: dict[str, Awaitable[object]] = {"database": self.db.ping()}
        if self.redis is not None:
            checks["redis"] = self.redis.ping()
        model = self.assistant.providers.default
        if isinstance(model, LocalProvider):
            checks["model"] = asyncio.to_thread(_required, model.ready)
        outcomes = await asyncio.gather(
            *(_bounded(check) for check in checks.values()), return_exceptions=True
        )
        failing = []
        for name, outcome in zip(checks, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                log.warning("readiness check %s failed: %s", name, type(outcome).__name__)
                failing.append(name)
        return failing

    async def aclose(self) -> None:
        await self.knowledge_imports.aclose()
        await self.search_indexer.aclose()
        await self.security_alerts.aclose()
        await self.webhook_dispatcher.aclose()
        await self.customer_mail.aclose()
        await self.identity_watch.aclose()
        await self.desk_watch.aclose()
        await self.assistant.aclose()
        await self.tally.aclose()
        await self.connection_caps.aclose()
        await self.presence.aclose()
        await self.broker.aclose()
        self.knowledge.close()
        if self.redis is not None:
            await self.redis.aclose()
        await self.db.dispose()


READINESS_TIMEOUT_SECONDS = 5.0


def _origin_of(url: str) -> str:
    """A URL's origin as browsers send it in `Origin`: scheme://host[:port]."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


async def _bounded(check: Awaitable[object]) -> None:
    async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
        await check


def _required(ready: Callable[[], bool]) -> None:
    if not ready():
        raise RuntimeError("not ready")


def build_services(
    settings: Settings,
    *,
    tools: ToolSource | None = None,
    clock: Clock = utcnow,
    tracer: Tracer | None = None,
) -> Services:
    """Every service of a node; `clock` is the time each reads (tests set it), `tracer` what
    they trace with (default: the global provider's, a no-op unless one was set)."""
    metrics.configure(tenant_label=settings.monitoring.metrics_tenant_label)
    timers = timers_of(clock)
    tracer = tracer or tracer_of(None)
    master_key = load_master_key(settings)
    previous = load_previous_master_keys(settings)
    db = Database(settings.database_url, echo=settings.database.echo)
    realtime = _realtime(settings, db, clock)
    broker = realtime.broker
    # One key, one purpose: each use gets its own key derived from the master key.
    vault = Vault(
        db,
        LocalKms(master_key, previous),
        cache_seconds=settings.crypto.data_key_cache_seconds,
        clock=clock,
    )
    audit = AuditLog(
        db,
        CheckpointSigner(
            [derive_key(key, "audit-checkpoint-signing/v1") for key in (master_key, *previous)]
        ),
        checkpoint_every=settings.audit.checkpoint_every,
        clock=clock,
    )
    tally = Tally(db, flush_seconds=settings.monitoring.rollup_flush_seconds, clock=clock)
    knowledge = KnowledgeService(
        db,
        vault,
        audit,
        max_upload_bytes=settings.knowledge.max_upload_bytes,
        max_entries=settings.knowledge.max_faq_entries,
        max_field_chars=settings.knowledge.max_field_chars,
        embedder=_embedder(settings.knowledge),
        tally=tally,
        cached_indexes=settings.knowledge.cached_indexes,
        rate_limits=realtime.rate_limits,
        learning=_learning(settings.knowledge),
        clock=clock,
    )
    knowledge_imports = KnowledgeImports(
        db,
        vault,
        audit,
        knowledge,
        poll_seconds=settings.knowledge.import_poll_seconds,
        clock=clock,
    )
    egress = EgressGuard(
        Resolver(settings.egress.nameservers, timeout_seconds=settings.egress.timeout_seconds),
        settings.egress.allowed_networks,
        timeout_seconds=settings.egress.timeout_seconds,
    )
    webhooks = WebhookEndpoints(
        db, vault, audit, egress, allow_insecure_urls=not settings.is_production, clock=clock
    )
    search_indexer = SearchIndexer(
        db, vault, seconds=settings.search.index_seconds or 2.0, clock=clock
    )
    attachment_settings = settings.attachments
    attachment_links = AttachmentLinks(
        derive_key(master_key, "attachment-links/v1"),
        derive_key(master_key, "attachment-upload-tickets/v1"),
        public_url=settings.server.public_url,
        link_lifetime=timedelta(seconds=attachment_settings.link_seconds),
        ticket_lifetime=timedelta(seconds=attachment_settings.ticket_seconds),
        clock=clock,
    )
    chat = ChatService(
        db,
        vault,
        broker,
        links=attachment_links,
        max_message_chars=settings.gateway.max_message_chars,
        tally=tally,
        subscriptions=webhooks,
        stored=search_indexer,
        clock=clock,
        tracer=tracer,
    )
    presence = Presence(db, realtime.presence, chat.broker)
    auto_assignment = AutoAssignment(db, chat, presence, audit)
    chat.on_moved(auto_assignment)
    presence.on_available(auto_assignment.became_available)
    tenants = TenantService(
        db,
        vault,
        audit,
        egress,
        realtime.rate_limits,
        allow_insecure_origins=not settings.is_production,
        clock=clock,
    )
    signing_keys = SigningKeys(db, vault, audit, clock=clock)
    end_user_revocations = EndUserRevocations(db, clock=clock)
    end_user_tokens = EndUserTokens(
        db,
        signing_keys,
        end_user_revocations,
        tenants,
        realtime.replay,
        issuer=settings.server.public_url,
        ttl=timedelta(seconds=settings.tokens.end_user_ttl_seconds),
        leeway=timedelta(seconds=settings.tokens.leeway_seconds),
        clock=clock,
    )
    call_tokens = CallTokens(signing_keys, issuer=settings.server.public_url, clock=clock)
    mcp = McpConfiguration(
        db,
        vault,
        audit,
        egress,
        public_url=settings.server.public_url,
        allow_insecure_urls=not settings.is_production,
        clock=clock,
    )
    identity = settings.identity
    passwords = Passwords(
        time_cost=identity.argon2_time_cost,
        memory_kib=identity.argon2_memory_kib,
        parallelism=identity.argon2_parallelism,
    )
    mailer = _mailer(settings)
    authorisation = Authorisation(db)
    accounts = account_services(
        db,
        vault,
        audit,
        tenants,
        passwords,
        mailer,
        realtime.rate_limits,
        SessionPolicy(
            idle=timedelta(minutes=identity.session_idle_minutes),
            absolute=timedelta(hours=identity.session_absolute_hours),
            reauthentication=timedelta(minutes=identity.reauthentication_minutes),
            email_token=timedelta(hours=identity.email_token_hours),
        ),
        public_url=settings.server.public_url,
        clock=clock,
    )
    members = MemberService(
        db,
        vault,
        audit,
        tenants,
        passwords,
        mailer,
        realtime.rate_limits,
        public_url=settings.server.public_url,
        clock=clock,
    )
    providers = _providers(settings.assistant)
    assistant = settings.assistant
    mcp_bridge = McpBridge(mcp, call_tokens, egress, timeout_seconds=assistant.tool_timeout_seconds)
    configuration = AssistantConfiguration(
        db, audit, providers=providers.names, external=providers.external_names, clock=clock
    )
    turn_limits = TurnLimits(
        min_confidence=assistant.min_confidence,
        min_offer_confidence=assistant.min_offer_confidence,
        choices=assistant.choices,
        calibrated=assistant.calibrated_thresholds,
        min_answer_support=assistant.min_answer_support,
        min_citation_support=assistant.min_citation_support,
        passages=assistant.passages,
        min_companion_confidence=assistant.min_companion_confidence,
        history_messages=assistant.history_messages,
        max_prompt_tokens=assistant.max_prompt_tokens,
        max_output_tokens=assistant.max_output_tokens,
        generation_timeout_seconds=assistant.generation_timeout_seconds,
        max_tool_rounds=assistant.max_tool_rounds,
        temperature=assistant.temperature,
    )
    budgets = Budgets(realtime.budgets)
    assistant_service = AssistantService(
        db,
        chat,
        knowledge,
        tenants,
        configuration,
        providers,
        budgets,
        tools or McpTools(mcp_bridge, tally),
        canary_key=derive_key(master_key, "assistant-canary/v1"),
        limits=turn_limits,
        tally=tally,
        clock=clock,
        tracer=tracer,
    )
    rehearsal = Rehearsal(
        knowledge,
        tenants,
        configuration,
        providers,
        budgets,
        realtime.rate_limits,
        canary=assistant_service.canary,
        limits=turn_limits,
        max_question_chars=settings.gateway.max_message_chars,
    )
    gateway = settings.gateway
    every = settings.tokens.revalidate_seconds
    customer_profiles = CustomerProfiles(db, vault, clock=clock)
    identity_watch = IdentityWatch(end_user_tokens, tenants, every_seconds=every, clock=timers)
    features = OrganisationFeatures(db, tenants, configuration)
    business_hours = BusinessHoursService(db, tenants, audit, clock=clock)
    customer_mail = CustomerMail(
        db,
        vault,
        chat,
        tenants,
        mailer,
        realtime.rate_limits,
        reply_delay=timedelta(seconds=gateway.offline_reply_mail_delay_seconds),
        clock=clock,
    )
    ratings = Ratings(db, vault, OrganisationEvents(webhooks), clock=clock)
    # Someone can answer within the organisation's hours while one of its agents is available.
    customer_side = CustomerSide(Availability(business_hours, presence), customer_mail, ratings)
    attachments = Attachments(
        db,
        vault,
        audit,
        realtime.rate_limits,
        attachment_links,
        realtime.replay,
        limits=AttachmentLimits(
            max_bytes=attachment_settings.max_bytes,
            files_per_conversation=attachment_settings.files_per_conversation,
            bytes_per_conversation=attachment_settings.bytes_per_conversation,
            bytes_per_organisation=attachment_settings.bytes_per_organisation,
        ),
        clock=clock,
    )
    widget_admission = WidgetAdmission(
        chat,
        tenants,
        end_user_tokens,
        realtime.rate_limits,
        realtime.caps,
        assistant_service,
        identity_watch,
        WidgetLimits(
            history_page_size=gateway.history_page_size,
            max_connections_per_ip=gateway.max_connections_per_ip,
            max_connections_per_tenant=gateway.max_connections_per_tenant,
            max_connections_per_user=gateway.max_connections_per_user,
            tls_only=settings.is_production,
        ),
        timers,
        tally,
        reach=features,
        customer=customer_side,
        profiles=customer_profiles,
        feedback=assistant_service.feedback,
        choices=assistant_service.choices,
        attachments=attachments,
    )
    desk_watch = DeskWatch(
        accounts.sessions,
        authorisation,
        every_seconds=gateway.desk_revalidate_seconds,
        clock=timers,
    )
    desk_marks = DeskMarks(db, clock=clock)
    desk = AgentDesk(db, chat, audit, clock=clock, marks=desk_marks, customer_mail=customer_mail)
    notes = PrivateNotes(db, vault, chat, audit, clock=clock)
    desk_admission = DeskAdmission(
        chat,
        desk,
        accounts.sessions,
        authorisation,
        realtime.rate_limits,
        realtime.caps,
        desk_watch,
        DeskLimits(
            own_origin=_origin_of(settings.server.public_url),
            sockets_per_member=gateway.desk_sockets_per_member,
            max_connections_per_ip=gateway.max_connections_per_ip,
            history_page_size=gateway.history_page_size,
            tls_only=settings.is_production,
        ),
        timers,
        presence,
        notes,
    )
    security_figures = SecurityFigures(db, tenants, tally)
    security_alerts = SecurityAlerts(
        db,
        tenants,
        security_figures,
        members,
        mailer,
        OrganisationEvents(webhooks),
        tally,
        public_url=settings.server.public_url,
        check_seconds=settings.monitoring.alerts_check_seconds,
        clock=clock,
    )
    webhook_dispatcher = WebhookDispatcher(db, vault, webhooks, egress, tally, clock=clock)
    return Services(
        settings=settings,
        db=db,
        broker=broker,
        vault=vault,
        audit=audit,
        tenants=tenants,
        features=features,
        accounts=accounts.accounts,
        signup=accounts.signup,
        email_verification=accounts.email_verification,
        login=accounts.login,
        sessions=accounts.sessions,
        step_up=accounts.step_up,
        mfa_enrolment=accounts.mfa_enrolment,
        password_reset=accounts.password_reset,
        password_change=accounts.password_change,
        platform_staff=accounts.platform_staff,
        authorisation=authorisation,
        members=members,
        verification=OrganisationVerification(db, tenants),
        mcp_servers=mcp,
        mcp_bridge=mcp_bridge,
        egress=egress,
        api_keys=ApiKeys(db, audit, clock=clock),
        signing_keys=signing_keys,
        client_keys=ClientKeys(db, audit, clock=clock),
        end_user_tokens=end_user_tokens,
        end_user_revocations=end_user_revocations,
        call_tokens=call_tokens,
        knowledge=knowledge,
        knowledge_imports=knowledge_imports,
        chat=chat,
        desk=desk,
        notes=notes,
        canned_replies=CannedReplies(db, vault, chat, audit, clock=clock),
        teams=Teams(db, chat, audit, clock=clock),
        presence=presence,
        auto_assignment=auto_assignment,
        search=ConversationSearch(db, vault),
        search_indexer=search_indexer,
        customer_panel=CustomerPanel(db, vault, chat, customer_profiles),
        assistant=assistant_service,
        rehearsal=rehearsal,
        rate_limits=realtime.rate_limits,
        connection_caps=realtime.caps,
        identity_watch=identity_watch,
        widget_admission=widget_admission,
        desk_watch=desk_watch,
        desk_admission=desk_admission,
        desk_marks=desk_marks,
        webhook_endpoints=webhooks,
        webhook_dispatcher=webhook_dispatcher,
        business_hours=business_hours,
        customer_mail=customer_mail,
        ratings=ratings,
        widget_appearance=WidgetAppearance(db, tenants, audit, clock=clock),
        tally=tally,
        platform_activity=PlatformActivity(db, tally, clock=clock),
        reports=Reports(
            db,
            tally,
            tenants,
            members,
            knowledge,
            audit,
            daily_token_budget=daily_budget(assistant.tokens_per_tenant),
            clock=clock,
        ),
        security_figures=security_figures,
        security_alerts=security_alerts,
        attachments=attachments,
        clock=clock,
        timers=timers,
        redis=realtime.redis,
        tracer=tracer,
    )


@dataclass(frozen=True, slots=True)
class AccountServices:
    """Dashboard accounts' use cases, wired to the parts they share: sessions, the second
    factor and step-up."""

    accounts: Accounts
    signup: SignUp
    email_verification: EmailVerification
    login: Login
    sessions: Sessions
    step_up: StepUp
    mfa_enrolment: MfaEnrolment
    password_reset: PasswordReset
    password_change: PasswordChange
    platform_staff: PlatformStaff


def account_services(
    db: Database,
    vault: Vault,
    audit: AuditLog,
    tenants: TenantService,
    passwords: Passwords,
    mailer: Mailer,
    limits: RateLimits,
    policy: SessionPolicy,
    *,
    public_url: str,
    clock: Clock,
) -> AccountServices:
    """The identity use cases, by themselves too: tests build them on a clock they move."""
    sessions = Sessions(db, audit, policy, clock=clock)
    second_factor = SecondFactor(db, vault, limits, clock=clock)
    step_up = StepUp(
        db, sessions, second_factor, passwords, lifetime=policy.reauthentication, clock=clock
    )
    return AccountServices(
        accounts=Accounts(db, audit, clock=clock),
        signup=SignUp(
            db,
            vault,
            audit,
            tenants,
            passwords,
            mailer,
            limits,
            public_url=public_url,
            link_lifetime=policy.email_token,
            clock=clock,
        ),
        email_verification=EmailVerification(db, audit, clock=clock),
        login=Login(db, passwords, limits, sessions, second_factor),
        sessions=sessions,
        step_up=step_up,
        mfa_enrolment=MfaEnrolment(db, vault, audit, limits, sessions, step_up, clock=clock),
        password_reset=PasswordReset(
            db, audit, passwords, mailer, limits, second_factor, public_url=public_url, clock=clock
        ),
        password_change=PasswordChange(db, audit, passwords, sessions, step_up),
        platform_staff=PlatformStaff(
            db,
            vault,
            audit,
            passwords,
            mailer,
            public_url=public_url,
            link_lifetime=policy.email_token,
            clock=clock,
        ),
    )


@dataclass(frozen=True, slots=True)
class _Realtime:
    broker: Broker
    replay: ReplayCache
    rate_limits: RateLimits
    caps: Caps
    budgets: RateLimits
    presence: LiveSockets
    redis: Redis | None = None


def _realtime(settings: Settings, db: Database, clock: Clock = utcnow) -> _Realtime:
    """What nodes must share when there are several: in this process (used token ids in the
    database, so that a restart forgets none), or in Redis."""
    rules = {
        "message": settings.gateway.messages_per_user,
        "frame": settings.gateway.frames_per_connection,
        "handshake": settings.gateway.handshakes_per_ip,
        "login_pair": settings.identity.login_per_account_and_address,
        "login_address": settings.identity.login_per_address,
        "codes": settings.identity.codes_per_account,
        "mails": settings.identity.mails_per_address,
        "origin_check": settings.egress.origin_checks_per_tenant,
        REHEARSAL: settings.assistant.rehearsals_per_member,
        CUSTOMER_MAIL_PER_USER: settings.gateway.customer_mails_per_user,
        CUSTOMER_MAIL_PER_TENANT: settings.gateway.customer_mails_per_tenant,
        **_learning(settings.knowledge).rules,
        **AttachmentLimits.rules(
            settings.attachments.uploads_per_user, settings.attachments.uploads_per_organisation
        ),
    }
    budgets = {
        "tokens_per_conversation": settings.assistant.tokens_per_conversation,
        "tokens_per_end_user": settings.assistant.tokens_per_end_user,
        "tokens_per_tenant": settings.assistant.tokens_per_tenant,
    }
    url, prefix = settings.redis.url, settings.redis.key_prefix
    if url is None:
        return _Realtime(
            InProcessBroker(),
            DatabaseReplayCache(db, clock=clock),
            RateLimits(rules, local=["frame"]),
            ConnectionCaps(),
            RateLimits(budgets),
            LocalSockets(),
        )
    # One bounded pool for every call on the request path, the `limits` library's included.
    pool = shared_pool(settings.redis)
    redis = Redis.from_pool(pool)  # closing it closes the pool
    return _Realtime(
        broker=RedisBroker(broker_client(settings.redis), prefix=prefix),
        replay=RedisReplayCache(redis, prefix=prefix, clock=clock),
        rate_limits=RateLimits(
            rules,
            _limits_uri(url),
            local=["frame"],
            implementation="redispy",
            key_prefix=f"{prefix}:limits",
            connection_pool=pool,
        ),
        caps=RedisConnectionCaps(redis, prefix=prefix),
        budgets=RateLimits(
            budgets,
            _limits_uri(url),
            implementation="redispy",
            key_prefix=f"{prefix}:budgets",
            connection_pool=pool,
        ),
        presence=RedisSockets(redis, prefix=prefix, clock=clock),
        redis=redis,
    )


def _limits_uri(url: str) -> str:
    """The `limits` library's name for the Redis at `url` (its scheme for a Unix socket is
    `redis+unix`); the connections themselves come from the shared pool."""
    if url.startswith("unix://"):
        return "async+redis+" + url
    return "async+" + url


def _mailer(settings: Settings) -> Mailer:
    identity = settings.identity
    if identity.smtp_host is None:
        return OutboxMailer(settings.data_dir / "outbox", identity.mail_from)
    password = identity.smtp_password
    return SmtpMailer(
        identity.smtp_host,
        identity.smtp_port,
        identity.mail_from,
        username=identity.smtp_username,
        password=password.get_secret_value() if password else None,
        security=identity.smtp_security,
    )


def _learning(settings: KnowledgeSettings) -> LearningLimits:
    return LearningLimits(
        max_chars=settings.learned_phrasing_max_chars,
        per_entry=settings.learned_phrasings_per_entry,
        per_customer=settings.learned_phrasings_per_customer,
        per_tenant=settings.learned_phrasings_per_tenant,
    )


def _embedder(settings: KnowledgeSettings) -> Embedder | None:
    if settings.embeddings == "minilm":
        return shared_minilm()
    if settings.embeddings == "remote" and settings.remote_embeddings_url:
        key = settings.remote_embeddings_api_key
        return RemoteEmbedder(
            settings.remote_embeddings_url,
            settings.remote_embeddings_model,
            api_key=key.get_secret_value() if key else None,
            timeout_seconds=settings.remote_embeddings_timeout_seconds,
            batch_size=settings.remote_embeddings_batch_size,
        )
    return None


def _providers(settings: AssistantSettings) -> Providers:
    """Every provider the settings configure; the extractive one always exists."""
    configured: dict[str, Provider] = {}
    timeout, retries = settings.request_timeout_seconds, settings.max_retries
    # The SDKs load only when their provider is configured: importing both costs a node about
    # five seconds of start-up on a 2-core machine.
    if settings.openai_base_url:
        from parlour.llm.openai_compatible import OpenAICompatibleProvider

        key = settings.openai_api_key
        configured["openai"] = OpenAICompatibleProvider(
            settings.openai_base_url,
            settings.openai_model,
            api_key=key.get_secret_value() if key else None,
            external=settings.openai_is_external,
            streaming=settings.openai_streaming,
            timeout_seconds=timeout,
            max_retries=retries,
        )
    if settings.anthropic_api_key is not None:
        from parlour.llm.anthropic import AnthropicProvider

        configured["anthropic"] = AnthropicProvider(
            settings.anthropic_model,
            api_key=settings.anthropic_api_key.get_secret_value(),
            base_url=settings.anthropic_base_url,
            timeout_seconds=timeout,
            max_retries=retries,
        )
    # The local model loads on first use, and only if llama-cpp-python is installed.
    configured["local"] = LocalProvider(
        settings.local_model_path,
        context_tokens=settings.local_context_tokens,
        knowledge_tokens=settings.local_knowledge_tokens,
        threads=settings.local_threads,
        waiting=settings.local_waiting_turns,
    )
    return Providers(
        configured,
        default=settings.provider,
        external_by_default=settings.external_providers_allowed,
    )
