"""row-level security on PostgreSQL for what organisations and their customers wrote: a second
wall behind the tenant filter every query carries (T-31)

A row is visible, and may be written, only inside a transaction that named its tenant in
`app.tenant_id` (`Database.transaction(tenant_id)`, `Database.read(tenant_id)`); one that named
none sees nothing. FORCE: the role that owns the tables, which is usually the role the
application runs as, is held to the policy too. Referential actions (a deleted organisation's
conversations going with it) are PostgreSQL's own and pass. SQLite has no row security; there
the tenant filter is the only wall. A later migration that reads or rewrites these tables' rows
must first name the tenants it works on, the same way, or it finds none.

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Conversations, knowledge, the assistant's settings and records, webhooks, MCP servers, and
# the origins and apps an organisation's widget may run on.
# Left out: the directory a credential is resolved through before its tenant is known
# (tenants, api_keys, client_keys, signing_keys), what platform jobs read
# across tenants (webhook_deliveries, tenant_keys for master-key rotation, audit chains,
# end_user_revocations), and the accounts side (memberships, invitations).
TABLES = (
    "conversations",
    "messages",
    "faq_entries",
    "knowledge_sources",
    "knowledge_state",
    "knowledge_versions",
    "knowledge_version_sources",
    "knowledge_quarantine",
    "assistant_settings",
    "prompt_templates",
    "assistant_turns",
    "webhook_endpoints",
    "mcp_servers",
    "mcp_client_certificates",
    "tenant_origins",
    "tenant_apps",
    "origin_claims",
)
# One tenant id, or a group commit's several joined by commas (ids never hold one).
IN_SCOPE = "tenant_id = ANY (string_to_array(current_setting('app.tenant_id', true), ','))"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_scope ON {table} USING ({IN_SCOPE})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP POLICY tenant_scope ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
