"""Who did what. Events carry identifiers and metadata only: never a secret, a token or a
message body (T-89). One concept past 400 lines on purpose: the catalogue of every audited
action, one small typed event each.

Past 400 lines on purpose: this is the catalogue of every audited event, one small typed class
each, so that the whole vocabulary of the audit log is read in one place."""

from __future__ import annotations

import dataclasses
import getpass
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

PLATFORM_CHAIN = "platform"


class ActorType(StrEnum):
    OPERATOR = "operator"
    ACCOUNT = "account"  # a dashboard account, acting through its session
    API_KEY = "api_key"
    CLI = "cli"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    type: ActorType
    id: str
    source_ip: str | None = None
    request_id: str | None = None

    @classmethod
    def cli(cls) -> Actor:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        return cls(ActorType.CLI, user[:200])

    @classmethod
    def system(cls, component: str) -> Actor:
        return cls(ActorType.SYSTEM, component)


@dataclass(frozen=True)
class AuditEvent:
    action: ClassVar[str]

    def data(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class TenantCreated(AuditEvent):
    action = "tenant.created"
    name: str


@dataclass(frozen=True)
class TenantDeleted(AuditEvent):
    action = "tenant.deleted"
    tenant_id: str
    data_keys_destroyed: int


@dataclass(frozen=True)
class OriginAllowed(AuditEvent):
    action = "tenant.origin_allowed"
    origin: str
    # How control of the host was shown: "dns", "well_known", "loopback" (needs none), or
    # "operator" (the platform's CLI, trusted at the console).
    proof: str = "operator"


@dataclass(frozen=True)
class OriginClaimed(AuditEvent):
    action = "tenant.origin_claimed"
    origin: str


@dataclass(frozen=True)
class OriginRemoved(AuditEvent):
    action = "tenant.origin_removed"
    origin: str
    # "allowlist" when it was allowed, "claim" when only a pending claim was withdrawn.
    was: str


@dataclass(frozen=True)
class AppRemoved(AuditEvent):
    action = "tenant.app_removed"
    app_id: str


@dataclass(frozen=True)
class AppAllowed(AuditEvent):
    action = "tenant.app_allowed"
    app_id: str


@dataclass(frozen=True)
class AnonymousVisitorsSet(AuditEvent):
    action = "tenant.anonymous_visitors_set"
    allowed: bool


@dataclass(frozen=True)
class TalkToAPersonSet(AuditEvent):
    action = "tenant.talk_to_a_person_set"
    allowed: bool


@dataclass(frozen=True)
class TimeZoneSet(AuditEvent):
    action = "tenant.time_zone_set"
    time_zone: str


@dataclass(frozen=True)
class ApiKeyCreated(AuditEvent):
    action = "api_key.created"
    key_id: str
    label: str
    scopes: list[str]
    expires_at: str | None


@dataclass(frozen=True)
class ApiKeyRotated(AuditEvent):
    """A new key in the old one's place; the old one works until `old_stops_at`."""

    action = "api_key.rotated"
    key_id: str
    new_key_id: str
    old_stops_at: str


@dataclass(frozen=True)
class ApiKeyRevoked(AuditEvent):
    action = "api_key.revoked"
    key_id: str


@dataclass(frozen=True)
class SigningKeyCreated(AuditEvent):
    action = "signing_key.created"
    kid: str


@dataclass(frozen=True)
class SigningKeyRetired(AuditEvent):
    action = "signing_key.retired"
    kid: str
    retired_at: str


@dataclass(frozen=True)
class ClientKeyRegistered(AuditEvent):
    action = "client_key.registered"
    kid: str
    algorithm: str


@dataclass(frozen=True)
class ClientKeyRevoked(AuditEvent):
    action = "client_key.revoked"
    kid: str


@dataclass(frozen=True)
class KnowledgeUploaded(AuditEvent):
    """A source stored as a new knowledge version (published or not)."""

    action = "knowledge.uploaded"
    source: str
    kind: str
    sha256: str
    version: int
    entries: int
    rejected_rows: int
    quarantined: int
    source_url: str | None = None  # the page its citations link to (knowledge/source_urls.py)


@dataclass(frozen=True)
class KnowledgeSourceRemoved(AuditEvent):
    action = "knowledge.source_removed"
    source: str
    version: int


@dataclass(frozen=True)
class KnowledgePublished(AuditEvent):
    """A version made live: after an upload, or to roll back to an earlier one."""

    action = "knowledge.published"
    version: int
    previous: int | None


@dataclass(frozen=True)
class KnowledgeImportStarted(AuditEvent):
    """A node began a background import (again, after an interruption, when `attempt` > 1);
    the file's name and hash, never its content."""

    action = "knowledge.import_started"
    job_id: str
    source: str
    sha256: str
    attempt: int


@dataclass(frozen=True)
class KnowledgeImportEnded(AuditEvent):
    """A background import ended: `done`, with the version it made and its figures, or
    `failed`, with the error's code (nothing of it was stored)."""

    action = "knowledge.import_ended"
    job_id: str
    source: str
    outcome: str
    version: int | None
    entries: int
    rejected_rows: int
    quarantined: int
    reason: str | None


@dataclass(frozen=True)
class KnowledgeItemDecided(AuditEvent):
    """An administrator's decision on an item screening held back."""

    action = "knowledge.quarantine_decided"
    item_id: str
    approved: bool
    reasons: str


@dataclass(frozen=True)
class KnowledgeItemFlaggedAgain(AuditEvent):
    """A live passage taken back to the review queue: the output filter stopped an answer
    reciting what it asks (a customer's secret, or their data sent elsewhere)."""

    action = "knowledge.flagged_again"
    item_id: str
    entry_id: str
    reasons: str


@dataclass(frozen=True)
class PhrasingLearned(AuditEvent):
    """A customer's pick among the assistant's choices taught the entry a phrasing: named by
    its id, never its text (knowledge/learned.py)."""

    action = "knowledge.phrasing_learned"
    entry_id: str
    phrasing_id: str


@dataclass(frozen=True)
class LearnedPhrasingRemoved(AuditEvent):
    action = "knowledge.learned_phrasing_removed"
    entry_id: str  # the entry it was learned for
    phrasing_id: str


@dataclass(frozen=True)
class LearnedPhrasingKept(AuditEvent):
    """A learned phrasing made a written one, in a new knowledge version."""

    action = "knowledge.learned_phrasing_kept"
    entry_id: str
    phrasing_id: str
    version: int


@dataclass(frozen=True)
class PromptTemplateSaved(AuditEvent):
    """A new version of the assistant's prompt template (its text is in the version table)."""

    action = "assistant.template_saved"
    version: int
    sha256: str


@dataclass(frozen=True)
class PromptTemplateActivated(AuditEvent):
    """A template version made live: after saving, or to roll back to an earlier one."""

    action = "assistant.template_activated"
    version: int | None  # None: Parlour's default template
    previous: int | None


@dataclass(frozen=True)
class AssistantPolicySet(AuditEvent):
    """The tenant's provider, the platform's rule on external providers, or the kill switch."""

    action = "assistant.policy_set"
    provider: str | None
    external_allowed: bool | None
    enabled: bool
    tools_enabled: bool = False
    external_consent: bool = True
    personalisation: bool = False


@dataclass(frozen=True)
class DataKeyRotated(AuditEvent):
    action = "crypto.data_key_rotated"
    version: int


@dataclass(frozen=True)
class MasterKeyRotated(AuditEvent):
    action = "crypto.master_key_rotated"
    rewrapped: int
    master_key_id: str


@dataclass(frozen=True)
class AuditExported(AuditEvent):
    action = "audit.exported"
    chain: str
    events: int


@dataclass(frozen=True)
class ReportExported(AuditEvent):
    """A report downloaded as CSV: which, and over which days; none of its figures."""

    action = "report.exported"
    report: str
    start: str
    end: str
    time_zone: str


@dataclass(frozen=True)
class AccountCreated(AuditEvent):
    action = "account.created"
    account_id: str


@dataclass(frozen=True)
class MemberAdded(AuditEvent):
    action = "account.member_added"
    account_id: str
    role: str


@dataclass(frozen=True)
class McpServerSaved(AuditEvent):
    """An MCP server added or changed; whether its credential changed, never the credential."""

    action = "mcp.server_saved"
    server_id: str
    name: str
    url: str
    tools: list[str]
    high_impact_tools: list[str]
    credential_changed: bool


@dataclass(frozen=True)
class McpToolsApproved(AuditEvent):
    """The definitions of a server's allowed tools as they are now, pinned (T-81): tool name ->
    SHA-256 of what the model is shown of it."""

    action = "mcp.tools_approved"
    server_id: str
    tools: dict[str, str]


@dataclass(frozen=True)
class McpToolWithheld(AuditEvent):
    """An allowed tool not offered because its definition is not the one approved."""

    action = "mcp.tool_withheld"
    server_id: str
    tool: str
    approved: str | None
    offered: str


@dataclass(frozen=True)
class McpClientCertificatePrepared(AuditEvent):
    """The organisation's next client certificate, published ahead of the switch."""

    action = "mcp.client_certificate_prepared"
    fingerprint: str  # SHA-256 of the certificate (DER)


@dataclass(frozen=True)
class McpClientCertificateSwitched(AuditEvent):
    """The prepared certificate is now the one every call shows."""

    action = "mcp.client_certificate_switched"
    fingerprint: str


@dataclass(frozen=True)
class McpServerRemoved(AuditEvent):
    action = "mcp.server_removed"
    server_id: str


@dataclass(frozen=True)
class WebhookEndpointAdded(AuditEvent):
    """Never the endpoint's secret."""

    action = "webhook.endpoint_added"
    endpoint_id: str
    url: str
    events: list[str]


@dataclass(frozen=True)
class WebhookSecretRotated(AuditEvent):
    """A new secret; the old one signs beside it until `previous_until`."""

    action = "webhook.secret_rotated"
    endpoint_id: str
    previous_until: str


@dataclass(frozen=True)
class WebhookEndpointRemoved(AuditEvent):
    action = "webhook.endpoint_removed"
    endpoint_id: str


@dataclass(frozen=True)
class MemberInvited(AuditEvent):
    """The invited address stays in the invitation row, out of the chain."""

    action = "account.member_invited"
    invitation_id: str
    role: str


@dataclass(frozen=True)
class InvitationRevoked(AuditEvent):
    action = "account.invitation_revoked"
    invitation_id: str


@dataclass(frozen=True)
class MemberRoleChanged(AuditEvent):
    action = "account.member_role_changed"
    account_id: str
    role: str
    previous: str


@dataclass(frozen=True)
class MemberRemoved(AuditEvent):
    action = "account.member_removed"
    account_id: str
    role: str


@dataclass(frozen=True)
class EmailVerified(AuditEvent):
    action = "account.email_verified"
    account_id: str


@dataclass(frozen=True)
class MfaEnrolled(AuditEvent):
    action = "account.mfa_enrolled"
    account_id: str


@dataclass(frozen=True)
class DisplayNameSet(AuditEvent):
    """A member chose the name customers see on their replies (never the name itself: it is
    the account's to change)."""

    action = "account.display_name_set"
    account_id: str
    cleared: bool


@dataclass(frozen=True)
class AccountDisabled(AuditEvent):
    action = "account.disabled"
    account_id: str
    sessions_ended: int


@dataclass(frozen=True)
class PasswordReset(AuditEvent):
    action = "account.password_reset"
    account_id: str
    sessions_ended: int


@dataclass(frozen=True)
class PasswordChanged(AuditEvent):
    action = "account.password_changed"
    account_id: str
    sessions_ended: int


@dataclass(frozen=True)
class SessionsEnded(AuditEvent):
    action = "account.sessions_ended"
    account_id: str
    sessions_ended: int


@dataclass(frozen=True)
class VerificationDecided(AuditEvent):
    action = "tenant.verification_decided"
    tenant_id: str
    verification: str
    reason: str
    # The platform's sole operator decided on an organisation they belong to (four eyes could
    # not apply: parlour.identity.verification).
    own_organisation: bool = False


@dataclass(frozen=True)
class PlatformRoleSet(AuditEvent):
    action = "account.platform_role_set"
    account_id: str
    platform_role: str | None


@dataclass(frozen=True)
class ConversationTaken(AuditEvent):
    """A person took the conversation from the queue or from the assistant."""

    action = "conversation.taken"
    conversation_id: str


@dataclass(frozen=True)
class AgentReplied(AuditEvent):
    """Which person wrote an agent's message (the message itself stays out of the chain)."""

    action = "conversation.agent_replied"
    conversation_id: str
    message_id: str


@dataclass(frozen=True)
class ConversationReturned(AuditEvent):
    action = "conversation.returned_to_assistant"
    conversation_id: str


@dataclass(frozen=True)
class ConversationAssigned(AuditEvent):
    """A person gave the conversation to a member (themselves: `conversation.taken`)."""

    action = "conversation.assigned"
    conversation_id: str
    assignee: str


@dataclass(frozen=True)
class ConversationUnassigned(AuditEvent):
    """Nobody has the conversation any more: it waits in the queue."""

    action = "conversation.unassigned"
    conversation_id: str


@dataclass(frozen=True)
class ConversationResolved(AuditEvent):
    action = "conversation.resolved"
    conversation_id: str


@dataclass(frozen=True)
class ConversationReopened(AuditEvent):
    action = "conversation.reopened"
    conversation_id: str


@dataclass(frozen=True)
class ConversationPending(AuditEvent):
    """Set to wait on the customer."""

    action = "conversation.pending"
    conversation_id: str


@dataclass(frozen=True)
class ConversationSnoozed(AuditEvent):
    action = "conversation.snoozed"
    conversation_id: str
    until: str  # ISO 8601, UTC


@dataclass(frozen=True)
class NoteWritten(AuditEvent):
    """A person wrote a private note on the conversation (the note itself stays out of the
    chain, T-89)."""

    action = "conversation.note_written"
    conversation_id: str
    note_id: str


@dataclass(frozen=True)
class AttachmentUploaded(AuditEvent):
    """A file was attached to the conversation (T-102): its id, type judged from its content,
    size and which side sent it; never its content or its name (which may be personal)."""

    action = "attachment.uploaded"
    conversation_id: str
    attachment_id: str
    content_type: str
    size_bytes: int
    author: str  # user or agent


@dataclass(frozen=True)
class AttachmentDownloaded(AuditEvent):
    """An attachment's original was served through a signed link (thumbnails, drawn on every
    page that shows the message, are not recorded)."""

    action = "attachment.downloaded"
    conversation_id: str
    attachment_id: str
    content_type: str
    size_bytes: int


@dataclass(frozen=True)
class CannedReplyCreated(AuditEvent):
    action = "canned_reply.created"
    reply_id: str
    shortcut: str


@dataclass(frozen=True)
class CannedReplyChanged(AuditEvent):
    """Its shortcut or body changed (the body stays out of the chain)."""

    action = "canned_reply.changed"
    reply_id: str
    shortcut: str


@dataclass(frozen=True)
class CannedReplyRemoved(AuditEvent):
    action = "canned_reply.removed"
    reply_id: str
    shortcut: str


@dataclass(frozen=True)
class ConversationAutoAssigned(AuditEvent):
    """Auto-assignment gave a queued conversation to an available agent (chat/auto_assignment)."""

    action = "conversation.auto_assigned"
    conversation_id: str
    assignee: str


@dataclass(frozen=True)
class ConversationTeamSet(AuditEvent):
    """The conversation waits in this team's queue now (None: in no team's)."""

    action = "conversation.team_set"
    conversation_id: str
    team_id: str | None


@dataclass(frozen=True)
class TeamCreated(AuditEvent):
    action = "team.created"
    team_id: str
    name: str


@dataclass(frozen=True)
class TeamRenamed(AuditEvent):
    action = "team.renamed"
    team_id: str
    name: str


@dataclass(frozen=True)
class TeamDeleted(AuditEvent):
    action = "team.deleted"
    team_id: str


@dataclass(frozen=True)
class TeamMemberAdded(AuditEvent):
    action = "team.member_added"
    team_id: str
    account_id: str


@dataclass(frozen=True)
class TeamMemberRemoved(AuditEvent):
    action = "team.member_removed"
    team_id: str
    account_id: str


@dataclass(frozen=True)
class AutoAssignmentSet(AuditEvent):
    """The organisation's auto-assignment switched on or off, with its default capacity."""

    action = "desk.auto_assignment_set"
    enabled: bool
    default_capacity: int


@dataclass(frozen=True)
class MemberCapacitySet(AuditEvent):
    """A member's own capacity for auto-assignment (None: the organisation's default)."""

    action = "desk.member_capacity_set"
    account_id: str
    capacity: int | None


@dataclass(frozen=True)
class BusinessHoursSet(AuditEvent):
    action = "tenant.business_hours_set"
    periods: int
    closed_dates: int
    reply_time: str


@dataclass(frozen=True)
class WidgetAppearanceSet(AuditEvent):
    """How the organisation's widget looks, as set (texts' lengths, not the texts)."""

    action = "tenant.widget_appearance_set"
    title: str
    greeting_chars: int
    brand_colour: str
    launcher_position: str
    hours_message_chars: int
    features: dict[str, bool]
    language: str


@dataclass(frozen=True)
class WidgetLogoSet(AuditEvent):
    """A logo uploaded and remade: its digest and sizes, never its bytes."""

    action = "tenant.widget_logo_set"
    digest: str
    uploaded_bytes: int
    stored_bytes: int


@dataclass(frozen=True)
class WidgetLogoRemoved(AuditEvent):
    action = "tenant.widget_logo_removed"
