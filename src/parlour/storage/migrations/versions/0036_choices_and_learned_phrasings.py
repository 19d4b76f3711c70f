"""the assistant's middle band (issue 23, item 2): an offer of entries as choices ("Did you mean
…?") is a message whose choices are sealed with it (`messages.choices_sealed`, a JSON list of
{id, title}; null for any other message); the customer's pick is kept with the offer's turn
(`assistant_turns.choice`, `chosen_at`; one per offer, the first standing), and a turn names the
customer's message it answered (`assistant_turns.question_id`: a pick answers that question, not
a later one); and a pick teaches
the chosen entry the customer's question as a learned phrasing (`learned_phrasings`: sealed
text and vector, keyed by a keyed hash of the entry's question so a re-upload keeps them).

The new table carries its organisation and sits behind row-level security on PostgreSQL like
every tenant table (0018); new columns of existing tables are under their policies.

Revision ID: 0036
Revises: 0035
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IN_SCOPE = "tenant_id = ANY (string_to_array(current_setting('app.tenant_id', true), ','))"
ID = sa.String(64)
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("choices_sealed", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("assistant_turns") as batch:
        batch.add_column(sa.Column("choice", sa.String(8), nullable=True))
        batch.add_column(sa.Column("chosen_at", WHEN, nullable=True))
        batch.add_column(sa.Column("question_id", ID, nullable=True))
    op.create_table(
        "learned_phrasings",
        sa.Column(
            "tenant_id",
            ID,
            sa.ForeignKey("tenants.tenant_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("phrasing_id", ID, primary_key=True),
        sa.Column("entry_key", sa.String(64), nullable=False),
        sa.Column("entry_id", ID, nullable=False),
        sa.Column("phrasing_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("vector_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("embedding_model", sa.String(64), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
    )
    op.create_index("ix_learned_phrasings_entry", "learned_phrasings", ["tenant_id", "entry_key"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE learned_phrasings ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE learned_phrasings FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_scope ON learned_phrasings USING ({IN_SCOPE})")


def downgrade() -> None:
    op.drop_index("ix_learned_phrasings_entry", table_name="learned_phrasings")
    op.drop_table("learned_phrasings")
    with op.batch_alter_table("assistant_turns") as batch:
        batch.drop_column("question_id")
        batch.drop_column("chosen_at")
        batch.drop_column("choice")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("choices_sealed")
