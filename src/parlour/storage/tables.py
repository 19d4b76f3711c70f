"""Every table (one concept past 400 lines on purpose: the schema the migrations build, in one
list). Row-level tenancy: each one carries `tenant_id` (TB-07).

Columns named `*_sealed` hold ciphertext from the tenant's data keys (parlour.crypto.vault);
SEALED_COLUMNS lists them, with the row id each is bound to, for re-encryption sweeps.

Past 400 lines on purpose: this is the list of every table, the schema read in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)

from parlour.storage.types import UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = String(64)


def _tenant_fk() -> Column[str]:
    return Column(
        "tenant_id", ID, ForeignKey("tenants.tenant_id", ondelete="CASCADE"), nullable=False
    )


tenants = Table(
    "tenants",
    metadata,
    Column("tenant_id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("widget_id", ID, nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("anonymous_visitors", Boolean, nullable=False, server_default=false()),
    # Organisations made by an operator's CLI are verified; signed-up ones wait (issue 7).
    Column("verification", String(16), nullable=False, server_default="verified"),
    Column("verification_reason", Text, nullable=True),
    # The IANA time zone its reports' days and hours are read in (0021).
    Column("time_zone", String(64), nullable=False, server_default="UTC"),
    # Its customers may ask for a person at any time, where it has people (0029).
    Column("talk_to_a_person", Boolean, nullable=False, server_default=true()),
)

tenant_origins = Table(
    "tenant_origins",
    metadata,
    _tenant_fk(),
    Column("origin", String(300), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "origin"),
)

# A non-loopback origin joins `tenant_origins` only once its owner proves control of the host
# with this claim's token (a DNS TXT record or a /.well-known file).
origin_claims = Table(
    "origin_claims",
    metadata,
    _tenant_fk(),
    Column("origin", String(300), nullable=False),
    Column("token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("checked_at", UtcDateTime, nullable=True),
    PrimaryKeyConstraint("tenant_id", "origin"),
)

tenant_apps = Table(
    "tenant_apps",
    metadata,
    _tenant_fk(),
    Column("app_id", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "app_id"),
)

api_keys = Table(
    "api_keys",
    metadata,
    _tenant_fk(),
    Column("key_id", ID, primary_key=True),
    Column("label", String(200), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
    Index("ix_api_keys_tenant", "tenant_id"),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    _tenant_fk(),
    Column("kid", ID, primary_key=True),
    Column("algorithm", String(16), nullable=False),
    Column("public_key", LargeBinary, nullable=False),
    Column("private_key_sealed", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("retired_at", UtcDateTime, nullable=True),
    Index("ix_signing_keys_tenant", "tenant_id"),
)

# Public keys organisations registered to sign end-user tokens themselves (no round trip).
client_keys = Table(
    "client_keys",
    metadata,
    _tenant_fk(),
    Column("kid", ID, nullable=False),
    Column("algorithm", String(16), nullable=False),
    Column("public_key_pem", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    PrimaryKeyConstraint("tenant_id", "kid"),
)

conversations = Table(
    "conversations",
    metadata,
    _tenant_fk(),
    Column("conversation_id", ID, primary_key=True),
    Column("end_user_id", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("last_seq", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # A conversation's life with people, for reports (0021): when it was handed over, when a
    # person first answered and who, when it was resolved, and how the assistant's last turn
    # ended.
    Column("handed_at", UtcDateTime, nullable=True),
    Column("first_human_reply_at", UtcDateTime, nullable=True),
    Column("human_account_id", ID, nullable=True),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("last_turn_outcome", String(16), nullable=True),
    # Who has it and until when it sleeps (0025; chat/lifecycle.py): `assigned`, `pending` and
    # `snoozed` conversations may have an assignee, a `snoozed` one has its waking time.
    Column("assignee", ID, nullable=True),
    Column("snoozed_until", UtcDateTime, nullable=True),
    # How far each side has seen it (0029): read receipts, only ever moving forward.
    Column("customer_read_seq", Integer, nullable=False, server_default=text("0")),
    Column("agent_read_seq", Integer, nullable=False, server_default=text("0")),
    # The team whose queue it is in (0026; chat/teams.py), if any. No foreign key: deleting a
    # team clears it in the same transaction, and SQLite drops the column in place going down.
    Column("team_id", ID, nullable=True),
    Index("ix_conversations_tenant_user", "tenant_id", "end_user_id"),
    Index("ix_conversations_tenant_team_status", "tenant_id", "team_id", "status"),
    # Reports read how a period's conversations ended, and the moments of its handovers, from
    # these indexes alone (0024).
    Index(
        "ix_conversations_tenant_created_endings",
        "tenant_id",
        "created_at",
        "handed_at",
        "first_human_reply_at",
        "last_turn_outcome",
    ),
    Index(
        "ix_conversations_tenant_handed_moments",
        "tenant_id",
        "handed_at",
        "first_human_reply_at",
        "resolved_at",
        "human_account_id",
    ),
)

messages = Table(
    "messages",
    metadata,
    _tenant_fk(),
    Column(
        "conversation_id",
        ID,
        ForeignKey("conversations.conversation_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("seq", Integer, nullable=False),
    Column("message_id", ID, nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("author", String(16), nullable=False),
    Column("body_sealed", LargeBinary, nullable=False),
    Column("client_id", String(64), nullable=True),
    Column("citations_sealed", LargeBinary, nullable=False),
    Column("actions", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # The display name an agent's message was sent under, kept as it was then (0029).
    Column("author_name", String(80), nullable=True),
    # The entries an assistant's offer names ("Did you mean …?", a JSON list of {id, title}),
    # sealed like the body; null for any other message (0036).
    Column("choices_sealed", LargeBinary, nullable=True),
    # The files it carries (a JSON list of {id, name, content_type, size, thumbnail}), sealed
    # like the body; null for a message without any (0040).
    Column("attachments_sealed", LargeBinary, nullable=True),
    PrimaryKeyConstraint("conversation_id", "seq"),
    UniqueConstraint("conversation_id", "client_id"),
)

# Files attached to a conversation's messages (chat/attachments.py, T-102): the file, its
# name and the server-made thumbnail each sealed with the tenant's key, bound to the row; the
# type (judged from the content), the size and who sent it in the clear. `message_id` is set
# when a message takes it; an upload no message took is never shown.
attachments = Table(
    "attachments",
    metadata,
    _tenant_fk(),
    Column("attachment_id", ID, primary_key=True),
    Column(
        "conversation_id",
        ID,
        ForeignKey("conversations.conversation_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("message_id", ID, nullable=True),
    Column("author", String(16), nullable=False),  # user or agent
    Column("content_type", String(64), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("name_sealed", LargeBinary, nullable=False),
    Column("file_sealed", LargeBinary, nullable=False),
    Column("thumbnail_sealed", LargeBinary, nullable=True),
    Column("thumbnail_type", String(64), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_attachments_tenant_conversation", "tenant_id", "conversation_id"),
)

# An agent's private notes on a conversation (chat/notes.py, T-99): a table of their own, so no
# path that reads messages (the widget's frames, history and resume, transcripts, webhooks) can
# ever carry one. The body is sealed with the tenant's key, bound to the note.
conversation_notes = Table(
    "conversation_notes",
    metadata,
    _tenant_fk(),
    Column("note_id", ID, primary_key=True),
    Column(
        "conversation_id",
        ID,
        ForeignKey("conversations.conversation_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("author_id", ID, nullable=False),  # the member's account
    Column("body_sealed", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index(
        "ix_conversation_notes_tenant_conversation", "tenant_id", "conversation_id", "created_at"
    ),
)

# An organisation's canned replies (chat/canned_replies.py): a shortcut unique in the
# organisation, and a body sealed like knowledge (the organisation's own text, but what its
# people send customers, kept like the FAQ's answers).
canned_replies = Table(
    "canned_replies",
    metadata,
    _tenant_fk(),
    Column("reply_id", ID, primary_key=True),
    Column("shortcut", String(64), nullable=False),
    Column("body_sealed", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("tenant_id", "shortcut", name="uq_canned_replies_tenant_shortcut"),
)

# The blind index of messages' words (parlour.search, docs/search.md; 0028): for each distinct
# word of a message, the word's keyed tag under the organisation's own index key, never the
# word. A message is in `search_documents` once its words are in (empty or not), so the indexer
# knows what it has done; `search_watermarks` is where each organisation's indexing got to.
search_terms = Table(
    "search_terms",
    metadata,
    _tenant_fk(),
    Column("tag", LargeBinary, nullable=False),
    Column("message_id", ID, nullable=False),
    Column("conversation_id", ID, nullable=False),
    PrimaryKeyConstraint("tenant_id", "tag", "message_id"),
    sqlite_with_rowid=False,
)

search_documents = Table(
    "search_documents",
    metadata,
    _tenant_fk(),
    Column(
        "message_id",
        ID,
        ForeignKey("messages.message_id", ondelete="CASCADE"),
        primary_key=True,
    ),
)

search_watermarks = Table(
    "search_watermarks",
    metadata,
    Column("tenant_id", ID, ForeignKey("tenants.tenant_id", ondelete="CASCADE"), primary_key=True),
    Column("message_id", ID, nullable=False),  # the newest message id indexed
    Column("updated_at", UtcDateTime, nullable=False),
)

# The latest verified claims of each end user (their name and e-mail as the organisation's
# token said, sealed), written when a socket is admitted with a token; visitors have none.
end_user_profiles = Table(
    "end_user_profiles",
    metadata,
    _tenant_fk(),
    Column("user_id", String(200), nullable=False),
    Column("traits_sealed", LargeBinary, nullable=False),
    Column("verified_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "user_id"),
)

faq_entries = Table(
    "faq_entries",
    metadata,
    _tenant_fk(),
    Column("entry_id", ID, primary_key=True),
    Column("question_sealed", LargeBinary, nullable=False),
    Column("answer_sealed", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # Other phrasings of an FAQ's question (a JSON list), sealed; null when it has none.
    Column("phrasings_sealed", LargeBinary, nullable=True),
    # The embeddings (float32) of the texts the entry is matched by, one row each (its question
    # then its phrasings, or a passage's text), sealed like the text they were computed from:
    # embeddings can be inverted to approximate text. Null before embeddings existed.
    Column("vector_sealed", LargeBinary, nullable=True),
    # Provenance: the source (and so its uploader, file hash and versions), and where in it.
    Column("source_id", ID, nullable=True),
    Column("locator", String(200), nullable=False, server_default=""),
    # False for a document's passage, whose heading is stored as its question.
    Column("is_faq", Boolean, nullable=False, server_default=true()),
    # SHA-256 of the entry's content as uploaded, checked whenever it is read for retrieval.
    Column("content_hash", String(64), nullable=True),
    Index("ix_faq_entries_tenant", "tenant_id"),
    Index("ix_faq_entries_source", "source_id"),
)

# Phrasings an organisation's customers taught an FAQ entry by picking it among the assistant's
# choices (knowledge/learned.py): the customer's question, sealed, and its embedding, sealed
# like an entry's. Keyed by the entry's question (a keyed hash under the tenant's index key),
# not its id, so a re-upload of the same question keeps them (0036).
learned_phrasings = Table(
    "learned_phrasings",
    metadata,
    _tenant_fk(),
    Column("phrasing_id", ID, primary_key=True),
    Column("entry_key", String(64), nullable=False),
    Column("entry_id", ID, nullable=False),  # the entry it was learned for, then
    Column("phrasing_sealed", LargeBinary, nullable=False),
    Column("vector_sealed", LargeBinary, nullable=True),  # float32; null: embeddings off
    Column("embedding_model", String(64), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_learned_phrasings_entry", "tenant_id", "entry_key"),
)

# Every upload is a source; a version is a set of sources, and the published one is live.
knowledge_sources = Table(
    "knowledge_sources",
    metadata,
    _tenant_fk(),
    Column("source_id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("uploaded_by", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # Its page on the organisation's site (https only), shown to customers as the citation's
    # link; not sealed, like the source's name.
    Column("source_url", String(2000), nullable=True),
    Index("ix_knowledge_sources_tenant", "tenant_id"),
)

knowledge_versions = Table(
    "knowledge_versions",
    metadata,
    _tenant_fk(),
    Column("number", Integer, nullable=False),
    Column("note", String(300), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "number"),
)

knowledge_version_sources = Table(
    "knowledge_version_sources",
    metadata,
    _tenant_fk(),
    Column("number", Integer, nullable=False),
    Column("source_id", ID, nullable=False),
    PrimaryKeyConstraint("tenant_id", "number", "source_id"),
)

knowledge_quarantine = Table(
    "knowledge_quarantine",
    metadata,
    _tenant_fk(),
    Column("item_id", ID, primary_key=True),
    Column("question_sealed", LargeBinary, nullable=False),
    Column("answer_sealed", LargeBinary, nullable=False),
    Column("phrasings_sealed", LargeBinary, nullable=True),
    Column("reasons", JSON, nullable=False),
    Column("line", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("source_id", ID, nullable=True),
    Column("locator", String(200), nullable=False, server_default=""),
    Column("is_faq", Boolean, nullable=False, server_default=true()),
    Index("ix_knowledge_quarantine_tenant", "tenant_id"),
)

knowledge_state = Table(
    "knowledge_state",
    metadata,
    Column("tenant_id", ID, ForeignKey("tenants.tenant_id", ondelete="CASCADE"), primary_key=True),
    # Changes whenever the tenant's knowledge does; nodes rebuild cached indexes on a change.
    Column("version", ID, nullable=False),
    Column("embedding_model", String(64), nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    # The live version's number (knowledge_versions); null before the first publication.
    Column("published", Integer, nullable=True),
)

# An upload imported in the background (knowledge/imports.py): the job, read across organisations
# by every node's importer, holds ids, counts and states only; its file waits sealed, under the
# organisation's scope, until the job ends. One job of an organisation runs at a time.
knowledge_imports = Table(
    "knowledge_imports",
    metadata,
    Column("job_id", ID, primary_key=True),
    _tenant_fk(),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("publish", Boolean, nullable=False),
    Column("source_url", String(2000), nullable=True),  # its page, like knowledge_sources'
    # The form's (or the API caller's Idempotency-Key): a second submit finds the first job.
    Column("submit_token", String(64), nullable=True),
    Column("state", String(16), nullable=False),  # queued, running, done, failed
    Column("done", Integer, nullable=False),  # passages screened and embedded so far
    Column("total", Integer, nullable=False),  # passages the file holds (0 until read)
    Column("attempts", Integer, nullable=False),
    # Who asked: the upload is audited as theirs.
    Column("actor_type", String(16), nullable=False),
    Column("actor_id", String(200), nullable=False),
    Column("source_ip", String(64), nullable=True),
    Column("request_id", String(64), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    # A running job's node renews this; a job whose lease ran out was interrupted.
    Column("lease_until", UtcDateTime, nullable=True),
    # The outcome: the version made and its figures, or why it failed.
    Column("version", Integer, nullable=True),
    Column("imported", Integer, nullable=True),
    Column("quarantined", Integer, nullable=True),
    Column("row_errors", JSON, nullable=True),
    Column("error_code", String(64), nullable=True),
    Column("error_message", String(500), nullable=True),
    UniqueConstraint("tenant_id", "submit_token"),
    Index("ix_knowledge_imports_tenant_created", "tenant_id", "created_at"),
    Index("ix_knowledge_imports_state", "state", "created_at"),
    Index(
        "uq_knowledge_imports_running",
        "tenant_id",
        unique=True,
        postgresql_where=text("state = 'running'"),
        sqlite_where=text("state = 'running'"),
    ),
)

knowledge_import_files = Table(
    "knowledge_import_files",
    metadata,
    _tenant_fk(),
    Column(
        "job_id",
        ID,
        ForeignKey("knowledge_imports.job_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("file_sealed", LargeBinary, nullable=False),
)

# The assistant: each tenant's choices, its prompt template versions, and what every turn used.
assistant_settings = Table(
    "assistant_settings",
    metadata,
    Column("tenant_id", ID, ForeignKey("tenants.tenant_id", ondelete="CASCADE"), primary_key=True),
    Column("provider", String(32), nullable=True),  # null: the platform's default
    # Set by the platform operator (data residency); null: the platform's default.
    Column("external_allowed", Boolean, nullable=True),
    Column("enabled", Boolean, nullable=False, server_default=true()),  # the kill switch
    Column("template_version", Integer, nullable=True),  # null: Parlour's default template
    Column("tools_enabled", Boolean, nullable=False, server_default=false()),
    Column("external_consent", Boolean, nullable=False, server_default=true()),
    Column("personalisation", Boolean, nullable=False, server_default=false()),
    Column("updated_at", UtcDateTime, nullable=False),
)

prompt_templates = Table(
    "prompt_templates",
    metadata,
    _tenant_fk(),
    Column("version", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "version"),
)

assistant_turns = Table(
    "assistant_turns",
    metadata,
    _tenant_fk(),
    Column("message_id", ID, primary_key=True),  # the answer (or refusal) it produced
    Column("conversation_id", ID, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("provider", String(32), nullable=False),
    Column("model", String(200), nullable=False),
    Column("template_version", Integer, nullable=True),
    Column("knowledge_version", Integer, nullable=True),
    Column("chunk_ids", JSON, nullable=False),
    Column("input_tokens", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # Why the outcome is what it is: "model_timed_out", "credential_request", … (0020).
    Column("reason", String(64), nullable=True),
    # The customer's thumbs on the answer, "up" or "down", and when; the first stands (0034).
    Column("thumbs", String(8), nullable=True),
    Column("thumbs_at", UtcDateTime, nullable=True),
    # An offer's customer's pick (the choice's id, "1"…) and when; the first stands (0036).
    Column("choice", String(8), nullable=True),
    Column("chosen_at", UtcDateTime, nullable=True),
    # The customer's message the turn answered (0036; null before).
    Column("question_id", ID, nullable=True),
    Index("ix_assistant_turns_tenant_created", "tenant_id", "created_at"),
    # The customer panel reads a conversation's turns (0028).
    Index("ix_assistant_turns_tenant_conversation", "tenant_id", "conversation_id"),
)

# What reports count, per organisation, figure, detail (a reason, a passage; "" for none) and
# hour, added to as events happen (parlour.rollups).
report_counts = Table(
    "report_counts",
    metadata,
    _tenant_fk(),
    Column("metric", String(40), nullable=False),
    Column("detail", String(64), nullable=False),
    Column("hour", UtcDateTime, nullable=False),
    Column("value", BigInteger, nullable=False),
    PrimaryKeyConstraint("tenant_id", "metric", "hour", "detail"),
)

# Questions the assistant could not answer (it abstained), for the knowledge gaps report: the
# question and its embedding sealed like knowledge, bound to the row. Bounded per organisation
# (the oldest pruned as new ones arrive) and kept for a retention (knowledge/gaps.py).
unanswered_questions = Table(
    "unanswered_questions",
    metadata,
    _tenant_fk(),
    # The customer's message that went unanswered.
    Column("question_id", ID, primary_key=True),
    Column("conversation_id", ID, nullable=False),
    Column("asked_at", UtcDateTime, nullable=False),
    Column("question_sealed", LargeBinary, nullable=False),
    # float32; null when embeddings are off. Vectors of another model are not comparable.
    Column("vector_sealed", LargeBinary, nullable=True),
    Column("embedding_model", String(64), nullable=True),
    # "abstained", or "unhelpful": answered, and the answer got a thumbs down (0034).
    Column("kind", String(16), nullable=False, server_default="abstained"),
    Index("ix_unanswered_questions_tenant_asked", "tenant_id", "asked_at"),
)

# Security alerts sent to an organisation (parlour.alerts): the unique constraints are their rate
# limits, across nodes: one per figure and local day, and `slot` 0..n-1 within an hour (UTC).
security_alerts = Table(
    "security_alerts",
    metadata,
    Column("alert_id", ID, primary_key=True),
    _tenant_fk(),
    Column("figure", String(40), nullable=False),
    Column("day", String(10), nullable=False),  # ISO date, in the organisation's time zone
    Column("hour", UtcDateTime, nullable=False),
    Column("slot", Integer, nullable=False),
    Column("value", BigInteger, nullable=False),
    Column("sent_at", UtcDateTime, nullable=False),
    UniqueConstraint("tenant_id", "figure", "day", name="uq_security_alerts_daily"),
    UniqueConstraint("tenant_id", "hour", "slot", name="uq_security_alerts_hourly"),
)

end_user_revocations = Table(
    "end_user_revocations",
    metadata,
    _tenant_fk(),
    Column("user_id", String(200), nullable=False),
    # Tokens issued before this moment are no longer accepted for this end user.
    Column("revoked_before", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "user_id"),
)

# Token ids already used to open a session (T-15): a token opens one session only, on the
# embedded profile too, across restarts. The key is a digest of the token id; a row lapses with
# its token, and expired rows are pruned as new ones arrive (parlour.keys.replay).
used_token_ids = Table(
    "used_token_ids",
    metadata,
    _tenant_fk(),
    Column("token_digest", String(64), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "token_digest"),
    Index("ix_used_token_ids_expires_at", "expires_at"),
)

# Dashboard accounts belong to the platform, not to one tenant: an account reaches organisations
# through memberships. The TOTP seed is sealed with the platform's data key (tenant "platform").
accounts = Table(
    "accounts",
    metadata,
    Column("account_id", ID, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("email_verified_at", UtcDateTime, nullable=True),
    Column("totp_seed_sealed", LargeBinary, nullable=True),
    Column("totp_pending_sealed", LargeBinary, nullable=True),
    # The last TOTP time step accepted: a code is good once (T-38).
    Column("totp_last_step", Integer, nullable=True),
    Column("platform_role", String(16), nullable=True),
    Column("disabled_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    # The name customers see on the member's replies (0029); None: "Support".
    Column("display_name", String(80), nullable=True),
)

memberships = Table(
    "memberships",
    metadata,
    Column(
        "account_id",
        ID,
        ForeignKey("accounts.account_id", ondelete="CASCADE"),
        nullable=False,
    ),
    _tenant_fk(),
    Column("role", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("account_id", "tenant_id"),
    Index(None, "tenant_id"),
)


def _account_fk() -> Column[str]:
    return Column(
        "account_id", ID, ForeignKey("accounts.account_id", ondelete="CASCADE"), nullable=False
    )


def _membership_fk(table: str) -> ForeignKeyConstraint:
    """A member's row: gone with their membership (removed from the organisation)."""
    return ForeignKeyConstraint(
        ["account_id", "tenant_id"],
        ["memberships.account_id", "memberships.tenant_id"],
        ondelete="CASCADE",
        name=f"fk_{table}_membership",
    )


# The live desk's state per member (docs/desk.md): how far each has read each conversation, and
# their preferences in each organisation (migration 0032).
desk_reads = Table(
    "desk_reads",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("account_id", ID, nullable=False),
    Column("conversation_id", ID, nullable=False),
    Column("read_seq", Integer, nullable=False),
    Column("read_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "account_id", "conversation_id"),
    _membership_fk("desk_reads"),
)

desk_preferences = Table(
    "desk_preferences",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("account_id", ID, nullable=False),
    Column("notify", Boolean, nullable=False),
    Column("sound", Boolean, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "account_id"),
    _membership_fk("desk_preferences"),
)


recovery_codes = Table(
    "recovery_codes",
    metadata,
    _account_fk(),
    Column("code_hash", String(64), nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
    PrimaryKeyConstraint("account_id", "code_hash"),
)

# Server-side sessions: the cookie holds a random reference; only its SHA-256 is stored.
account_sessions = Table(
    "account_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    _account_fk(),
    Column("stage", String(16), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("authenticated_at", UtcDateTime, nullable=False),
    Column("source_ip", String(64), nullable=True),
    Index(None, "account_id"),
)

# A person asked to join an organisation. The mailed link's token is stored only as a digest;
# accepting it needs the address it was sent to.
invitations = Table(
    "invitations",
    metadata,
    Column("invitation_id", ID, primary_key=True),
    _tenant_fk(),
    Column("email", String(320), nullable=False),
    Column("role", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("invited_by", ID, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("accepted_at", UtcDateTime, nullable=True),
    Index(None, "tenant_id"),
)

email_tokens = Table(
    "email_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    _account_fk(),
    Column("purpose", String(16), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
    Index(None, "account_id"),
)

tenant_keys = Table(
    "tenant_keys",
    metadata,
    # No foreign key: destroying the keys is part of deleting the tenant, and is checked apart.
    Column("tenant_id", ID, nullable=False),
    Column("version", Integer, nullable=False),
    Column("kek_id", String(32), nullable=False),
    Column("wrapped_key", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "version"),
)

# Audit chains: one per tenant (tenant_id = the tenant's id) and one for the platform
# (tenant_id = "platform"). No foreign key, so the platform chain needs no tenant row.
audit_events = Table(
    "audit_events",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("event_id", ID, nullable=False, unique=True),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("action", String(64), nullable=False),
    Column("actor_type", String(16), nullable=False),
    Column("actor_id", String(200), nullable=False),
    Column("source_ip", String(64), nullable=True),
    Column("request_id", String(64), nullable=True),
    Column("data", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    PrimaryKeyConstraint("tenant_id", "seq"),
)

audit_heads = Table(
    "audit_heads",
    metadata,
    Column("tenant_id", ID, primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("signed_at", UtcDateTime, nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("signature", LargeBinary, nullable=False),
    PrimaryKeyConstraint("tenant_id", "seq"),
)


@dataclass(frozen=True)
class SealedColumn:
    table: Table
    row_id: str
    column: str
    field: str


# A tenant's MCP servers: where the assistant may call the organisation's own tools, which ones,
# and an optional credential Parlour presents besides its per-call signed token.
mcp_servers = Table(
    "mcp_servers",
    metadata,
    Column("server_id", ID, primary_key=True),
    _tenant_fk(),
    Column("name", String(100), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("credential_sealed", LargeBinary, nullable=True),
    Column("tools", JSON, nullable=False),
    Column("high_impact_tools", JSON, nullable=False),
    Column("subject_argument", String(64), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # Tool name -> SHA-256 of its definition as approved; any other definition is withheld.
    Column("tool_pins", JSON, nullable=False, server_default="{}"),
    # The CA(s) the server's certificate must chain to, instead of the system's (PEM, public).
    Column("server_ca_pem", Text, nullable=True),
    Index(None, "tenant_id"),
)

# Each organisation's client certificate for mutual TLS with its MCP servers.
mcp_client_certificates = Table(
    "mcp_client_certificates",
    metadata,
    Column(
        "tenant_id",
        ID,
        ForeignKey("tenants.tenant_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("certificate_pem", Text, nullable=False),
    Column("private_key_sealed", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # The certificate that replaces it at the next switch, published ahead so that servers
    # admitting certificates one by one can admit it first.
    Column("next_certificate_pem", Text, nullable=True),
    Column("next_private_key_sealed", LargeBinary, nullable=True),
)

# An organisation's webhook endpoints, and the deliveries still owed to them. A delivery is
# written in the transaction that stores its message (an outbox), so none is lost to a crash,
# and deleted once the endpoint accepted it. It names its endpoint without a foreign key: a
# writer that has not yet heard of an endpoint's removal must not fail to store the message,
# and the dispatcher drops a delivery whose endpoint is gone.
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    _tenant_fk(),
    Column("endpoint_id", ID, primary_key=True),
    Column("url", String(2000), nullable=False),
    Column("events", JSON, nullable=False),
    Column("secret_sealed", LargeBinary, nullable=False),
    # After a rotation, the secret replaced, still signing beside the new one until then.
    Column("previous_secret_sealed", LargeBinary, nullable=True),
    Column("previous_secret_until", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_success_at", UtcDateTime, nullable=True),
    Column("last_failure_at", UtcDateTime, nullable=True),
    Column("last_error", String(300), nullable=True),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("delivery_id", ID, primary_key=True),
    _tenant_fk(),
    Column("endpoint_id", ID, nullable=False),
    Column("event", String(40), nullable=False),
    # A message's event names it (its body is read when sent); an organisation's own event
    # (security.alert) names none and carries the JSON it is sent as.
    Column("conversation_id", ID, nullable=True),
    Column("message_id", ID, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("payload", Text, nullable=True),
    Index("ix_webhook_deliveries_due", "next_attempt_at"),
)

# The desk's people (0026, issue 22): an organisation's teams and who is in them (members of the
# organisation only: a membership's removal removes them from its teams), each member's own
# presence choice and capacity, and the organisation's auto-assignment switch, default capacity
# and round-robin turn (chat/teams.py, chat/presence.py, chat/auto_assignment.py).
teams = Table(
    "teams",
    metadata,
    _tenant_fk(),
    Column("team_id", ID, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("tenant_id", "name"),
)

team_members = Table(
    "team_members",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("team_id", ID, ForeignKey("teams.team_id", ondelete="CASCADE"), nullable=False),
    Column("account_id", ID, nullable=False),
    Column("added_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("team_id", "account_id"),
    _membership_fk("team_members"),
    Index(None, "tenant_id", "account_id"),
)

desk_members = Table(
    "desk_members",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("account_id", ID, nullable=False),
    # What the member chose (available or away); with no live socket they are offline anyway.
    Column("presence", String(16), nullable=False),
    # How many assigned conversations auto-assignment gives them; None: the organisation's.
    Column("capacity", Integer, nullable=True),
    PrimaryKeyConstraint("tenant_id", "account_id"),
    _membership_fk("desk_members"),
)

desk_settings = Table(
    "desk_settings",
    metadata,
    Column("tenant_id", ID, ForeignKey("tenants.tenant_id", ondelete="CASCADE"), primary_key=True),
    Column("auto_assign", Boolean, nullable=False, server_default=false()),
    Column("default_capacity", Integer, nullable=False),
    # Auto-assignment's round-robin turn: each offer takes the next number, atomically.
    Column("turn", BigInteger, nullable=False, server_default="0"),
)

# The desk's customer side when nobody is there (0030, T-101): an organisation's business hours
# (a weekly schedule read in its time zone, closed dates, the reply time it promises), the
# e-mail address a customer left in a conversation, their rating of each resolution, and the
# mails owed to customers (an outbox read across organisations by every node's sender, like the
# webhook deliveries: ids and a sealed address only).
business_hours = Table(
    "business_hours",
    metadata,
    _tenant_fk(),
    Column("schedule", JSON, nullable=False),  # [[weekday 0-6, "HH:MM", "HH:MM"], ...]
    Column("closed_dates", JSON, nullable=False),  # ["YYYY-MM-DD", ...]
    Column("reply_time", String(100), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id"),
)

# How an organisation's widget looks (0039, issue 24: tenants/appearance.py): one row, or none
# for the defaults. The logo is the PNG Parlour remade from the upload (tenants/logo.py, T-109),
# public by design (served to any page by its digest), so not sealed.
widget_appearance = Table(
    "widget_appearance",
    metadata,
    _tenant_fk(),
    Column("title", String(60), nullable=False),
    Column("greeting", String(300), nullable=True),
    Column("brand_colour", String(7), nullable=False),
    Column("launcher_position", String(5), nullable=False),
    Column("hours_message", String(200), nullable=True),
    Column("features", JSON, nullable=False),  # {"attachments": false, "rating": true, ...}
    Column("language", String(4), nullable=False),
    Column("logo_digest", String(64), nullable=True),
    Column("logo_png", LargeBinary, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id"),
)

conversation_contacts = Table(
    "conversation_contacts",
    metadata,
    _tenant_fk(),
    Column(
        "conversation_id",
        ID,
        ForeignKey("conversations.conversation_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("address_sealed", LargeBinary, nullable=False),
    Column("given_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("conversation_id"),
)

conversation_ratings = Table(
    "conversation_ratings",
    metadata,
    _tenant_fk(),
    Column(
        "conversation_id",
        ID,
        ForeignKey("conversations.conversation_id", ondelete="CASCADE"),
        nullable=False,
    ),
    # The resolution rated: one rating per resolution (the key refuses a second).
    Column("resolved_at", UtcDateTime, nullable=False),
    Column("score", Integer, nullable=False),
    Column("comment_sealed", LargeBinary, nullable=True),
    Column("agent_id", ID, nullable=True),  # the member who had it when it was resolved
    Column("rated_at", UtcDateTime, nullable=False),
    Column("rating_id", ID, nullable=False, unique=True),
    PrimaryKeyConstraint("conversation_id", "resolved_at"),
    Index("ix_conversation_ratings_tenant_rated", "tenant_id", "rated_at"),
)

customer_mails = Table(
    "customer_mails",
    metadata,
    Column("mail_id", ID, primary_key=True),
    _tenant_fk(),
    Column("conversation_id", ID, nullable=False),
    Column("kind", String(16), nullable=False),  # "reply" or "transcript"
    Column("address_sealed", LargeBinary, nullable=False),
    Column("seq", Integer, nullable=True),  # a reply mail: the first message it carries
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_customer_mails_due", "next_attempt_at"),
    Index("ix_customer_mails_conversation", "conversation_id", "kind"),
)

SEALED_COLUMNS = (
    SealedColumn(signing_keys, "kid", "private_key_sealed", "private_key"),
    SealedColumn(messages, "message_id", "body_sealed", "body"),
    SealedColumn(messages, "message_id", "citations_sealed", "citations"),
    SealedColumn(messages, "message_id", "choices_sealed", "choices"),
    SealedColumn(messages, "message_id", "attachments_sealed", "attachments"),
    SealedColumn(attachments, "attachment_id", "name_sealed", "name"),
    SealedColumn(attachments, "attachment_id", "file_sealed", "file"),
    SealedColumn(attachments, "attachment_id", "thumbnail_sealed", "thumbnail"),
    SealedColumn(conversation_notes, "note_id", "body_sealed", "body"),
    SealedColumn(canned_replies, "reply_id", "body_sealed", "body"),
    SealedColumn(faq_entries, "entry_id", "question_sealed", "question"),
    SealedColumn(faq_entries, "entry_id", "answer_sealed", "answer"),
    SealedColumn(faq_entries, "entry_id", "vector_sealed", "vector"),
    SealedColumn(learned_phrasings, "phrasing_id", "phrasing_sealed", "phrasing"),
    SealedColumn(learned_phrasings, "phrasing_id", "vector_sealed", "vector"),
    SealedColumn(knowledge_quarantine, "item_id", "question_sealed", "question"),
    SealedColumn(knowledge_quarantine, "item_id", "answer_sealed", "answer"),
    SealedColumn(knowledge_import_files, "job_id", "file_sealed", "file"),
    SealedColumn(unanswered_questions, "question_id", "question_sealed", "question"),
    SealedColumn(unanswered_questions, "question_id", "vector_sealed", "vector"),
    SealedColumn(mcp_servers, "server_id", "credential_sealed", "credential"),
    SealedColumn(mcp_client_certificates, "tenant_id", "private_key_sealed", "private_key"),
    SealedColumn(
        mcp_client_certificates, "tenant_id", "next_private_key_sealed", "next_private_key"
    ),
    SealedColumn(webhook_endpoints, "endpoint_id", "secret_sealed", "secret"),
    SealedColumn(webhook_endpoints, "endpoint_id", "previous_secret_sealed", "previous_secret"),
    SealedColumn(conversation_contacts, "conversation_id", "address_sealed", "address"),
    SealedColumn(conversation_ratings, "rating_id", "comment_sealed", "comment"),
    SealedColumn(customer_mails, "mail_id", "address_sealed", "address"),
    SealedColumn(end_user_profiles, "user_id", "traits_sealed", "traits"),
)
