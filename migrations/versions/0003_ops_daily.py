"""The operations cockpit's daily pre-aggregates (operations/cockpit.py): ops_daily (counts per day,
department and item), ops_daily_citations (Q&A entries cited per day), ops_cited_entries (every entry
ever cited) and ops_aggregated (the last day stored). New tables only: filled by the first refresh
from the stored turns, hand-offs and cases.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COUNTERS = (
    "answers", "sessions", "verbatim", "generated", "refused", "tool",
    "prefills", "prefill_fields", "prefill_filled",
    "handoffs", "handoffs_answered", "handoffs_within_60s", "handoffs_missed", "handoffs_resolved", "handoffs_closed",
    "applications", "apps_channel_known", "apps_online", "apps_timed",
    "completed", "completed_first_time", "completed_with_promise", "completed_on_time",
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "ops_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("department", sa.String(length=100), nullable=False),
        sa.Column("item", sa.String(length=200), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTERS),
        sa.Column("apply_minutes", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("day", "department", "item"),
    )
    op.create_table(
        "ops_daily_citations",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("group", sa.String(length=500), nullable=False),
        sa.Column("cited", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "group"),
    )
    op.create_index("ix_ops_daily_citations_group_day", "ops_daily_citations", ["group", "day"])
    op.create_table(
        "ops_cited_entries",
        sa.Column("group", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("group"),
    )
    op.create_table(
        "ops_aggregated",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("through", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    for table in ("ops_aggregated", "ops_cited_entries", "ops_daily_citations", "ops_daily"):
        op.drop_table(table)
