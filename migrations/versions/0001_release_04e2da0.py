"""Baseline: the schema of release 04e2da0, the last one that made its tables with create_all and
patched new columns in on start.

An empty database gets these tables. A database made by that release or an earlier one (it has
tables but no alembic_version) is adopted: missing tables are created, and columns and indexes added
since an earlier release are added (they were all nullable, as the old patching required), so every
stored row is kept. The tables are a frozen copy, not the application's models: later changes to the
models come as later revisions.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

metadata = sa.MetaData()

sa.Table(
    "applications",
    metadata,
    sa.Column("id", sa.String(length=40), nullable=False),
    sa.Column("item", sa.String(length=200), nullable=False),
    sa.Column("item_id", sa.String(length=40), nullable=True),
    sa.Column("form_data", sa.JSON(), nullable=True),
    sa.Column("applicant_ref", sa.String(length=64), nullable=False),
    sa.Column("status", sa.String(length=40), nullable=False),
    sa.Column("next_step", sa.String(length=200), nullable=True),
    sa.Column("timeline", sa.JSON(), nullable=False),
    sa.Column("promised_date", sa.Date(), nullable=True),
    sa.Column("sample", sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_applications_applicant_ref", "applicant_ref"),
)
sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(length=64), nullable=False),
    sa.Column("action", sa.String(length=40), nullable=False),
    sa.Column("object_type", sa.String(length=20), nullable=False),
    sa.Column("object_id", sa.String(length=64), nullable=False),
    sa.Column("detail", sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_audit_log_action", "action"),
    sa.Index("ix_audit_log_actor", "actor"),
    sa.Index("ix_audit_log_at", "at"),
    sa.Index("ix_audit_log_object_id", "object_id"),
)
sa.Table(
    "chat_sessions",
    metadata,
    sa.Column("id", sa.String(length=36), nullable=False),
    sa.Column("user_ref", sa.String(length=64), nullable=True),
    sa.Column("identity", sa.String(length=20), nullable=True),
    sa.Column("channel", sa.String(length=20), nullable=False),
    sa.Column("status", sa.String(length=20), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_chat_sessions_status", "status"),
    sa.Index("ix_chat_sessions_user_ref", "user_ref"),
)
sa.Table(
    "credential_uses",
    metadata,
    sa.Column("credential", sa.String(length=128), nullable=False),
    sa.Column("session_id", sa.String(length=36), nullable=False),
    sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("credential"),
)
sa.Table(
    "eval_runs",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("kind", sa.String(length=20), nullable=False),
    sa.Column("version", sa.String(length=60), nullable=False),
    sa.Column("settings", sa.JSON(), nullable=False),
    sa.Column("headline", sa.JSON(), nullable=False),
    sa.Column("result", sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_eval_runs_at", "at"),
    sa.Index("ix_eval_runs_kind", "kind"),
)
sa.Table(
    "flagged_chunks",
    metadata,
    sa.Column("collection", sa.String(length=100), nullable=False),
    sa.Column("chunk_id", sa.String(length=36), nullable=False),
    sa.Column("source", sa.String(length=1000), nullable=False),
    sa.Column("citation", sa.String(length=500), nullable=False),
    sa.Column("flags", sa.JSON(), nullable=False),
    sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("collection", "chunk_id"),
    sa.Index("ix_flagged_chunks_source", "source"),
)
sa.Table(
    "gov_records",
    metadata,
    sa.Column("kind", sa.String(length=20), nullable=False),
    sa.Column("ref", sa.String(length=64), nullable=False),
    sa.Column("data", sa.JSON(), nullable=False),
    sa.Column("sample", sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint("kind", "ref"),
)
sa.Table(
    "ingested_sources",
    metadata,
    sa.Column("collection", sa.String(length=100), nullable=False),
    sa.Column("source", sa.String(length=1000), nullable=False),
    sa.Column("file_hash", sa.String(length=64), nullable=False),
    sa.Column("signature", sa.String(length=64), nullable=False),
    sa.Column("version_key", sa.String(length=500), nullable=True),
    sa.Column("version_date", sa.String(length=10), nullable=True),
    sa.Column("status", sa.String(length=20), nullable=False),
    sa.Column("chunks", sa.JSON(), nullable=False),
    sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("collection", "source"),
    sa.Index("ix_ingested_sources_version_key", "version_key"),
)
sa.Table(
    "issue_reports",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("tracking_no", sa.String(length=32), nullable=False),
    sa.Column("session_id", sa.String(length=36), nullable=True),
    sa.Column("description", sa.Text(), nullable=False),
    sa.Column("item", sa.String(length=200), nullable=True),
    sa.Column("contact", sa.String(length=100), nullable=True),
    sa.Column("status", sa.String(length=20), nullable=False),
    sa.Column("assignee", sa.String(length=100), nullable=True),
    sa.Column("result", sa.Text(), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("tracking_no"),
    sa.Index("ix_issue_reports_created_at", "created_at"),
    sa.Index("ix_issue_reports_session_id", "session_id"),
    sa.Index("ix_issue_reports_status", "status"),
)
sa.Table(
    "qa_entries",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("status", sa.String(length=10), nullable=False),
    sa.Column("question", sa.String(length=200), nullable=False),
    sa.Column("alternatives", sa.JSON(), nullable=False),
    sa.Column("answer", sa.Text(), nullable=False),
    sa.Column("item", sa.String(length=200), nullable=True),
    sa.Column("department", sa.String(length=100), nullable=True),
    sa.Column("effective_from", sa.Date(), nullable=True),
    sa.Column("effective_to", sa.Date(), nullable=True),
    sa.Column("source", sa.String(length=200), nullable=True),
    sa.Column("gap_ids", sa.JSON(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("created_by", sa.String(length=64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_qa_entries_status", "status"),
)
sa.Table(
    "qa_versions",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("entry_id", sa.Integer(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("action", sa.String(length=20), nullable=False),
    sa.Column("actor", sa.String(length=64), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("changes", sa.JSON(), nullable=False),
    sa.Column("snapshot", sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_qa_versions_entry_id", "entry_id"),
)
sa.Table(
    "staff_tokens",
    metadata,
    sa.Column("token_hash", sa.String(length=64), nullable=False),
    sa.Column("username", sa.String(length=32), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("token_hash"),
    sa.Index("ix_staff_tokens_username", "username"),
)
sa.Table(
    "staff_users",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("username", sa.String(length=32), nullable=False),
    sa.Column("display_name", sa.String(length=40), nullable=False),
    sa.Column("role", sa.String(length=10), nullable=False),
    sa.Column("password_hash", sa.String(length=200), nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("username"),
)
sa.Table(
    "handoffs",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("session_id", sa.String(length=36), nullable=False),
    sa.Column("reason", sa.String(length=200), nullable=False),
    sa.Column("evidence", sa.JSON(), nullable=False),
    sa.Column("status", sa.String(length=20), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("helper", sa.String(length=64), nullable=True),
    sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("first_reply_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("outcome", sa.String(length=20), nullable=True),
    sa.Column("requeued", sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(["session_id"], ["chat_sessions.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_handoffs_created_at", "created_at"),
    sa.Index("ix_handoffs_helper", "helper"),
    sa.Index("ix_handoffs_outcome", "outcome"),
    sa.Index("ix_handoffs_session_id", "session_id"),
    sa.Index("ix_handoffs_status", "status"),
)
sa.Table(
    "turns",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("session_id", sa.String(length=36), nullable=False),
    sa.Column("role", sa.String(length=10), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("path", sa.String(length=20), nullable=True),
    sa.Column("intent", sa.String(length=20), nullable=True),
    sa.Column("label", sa.String(length=40), nullable=True),
    sa.Column("department", sa.String(length=100), nullable=True),
    sa.Column("item", sa.String(length=200), nullable=True),
    sa.Column("flags", sa.JSON(), nullable=False),
    sa.Column("ttft_ms", sa.Double(), nullable=True),
    sa.Column("total_ms", sa.Double(), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["session_id"], ["chat_sessions.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_turns_created_at", "created_at"),
    sa.Index("ix_turns_department", "department"),
    sa.Index("ix_turns_path", "path"),
    sa.Index("ix_turns_report", "role", "created_at", "path", "department", "session_id"),
    sa.Index("ix_turns_session_id", "session_id"),
)
sa.Table(
    "citations",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("turn_id", sa.Integer(), nullable=False),
    sa.Column("number", sa.Integer(), nullable=False),
    sa.Column("citation", sa.String(length=500), nullable=False),
    sa.Column("group", sa.String(length=500), nullable=False),
    sa.Column("doc_type", sa.String(length=20), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(["turn_id"], ["turns.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_citations_group", "group"),
    sa.Index("ix_citations_turn_cover", "turn_id", "doc_type", "group"),
)
sa.Table(
    "knowledge_gaps",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("session_id", sa.String(length=36), nullable=False),
    sa.Column("turn_id", sa.Integer(), nullable=True),
    sa.Column("question", sa.Text(), nullable=False),
    sa.Column("reason", sa.String(length=40), nullable=False),
    sa.Column("trace", sa.JSON(), nullable=False),
    sa.Column("status", sa.String(length=20), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("due_date", sa.Date(), nullable=True),
    sa.Column("entry_id", sa.Integer(), nullable=True),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(["session_id"], ["chat_sessions.id"]),
    sa.ForeignKeyConstraint(["turn_id"], ["turns.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_knowledge_gaps_created_at", "created_at"),
    sa.Index("ix_knowledge_gaps_entry_id", "entry_id"),
    sa.Index("ix_knowledge_gaps_session_id", "session_id"),
    sa.Index("ix_knowledge_gaps_status", "status"),
)
sa.Table(
    "ratings",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("turn_id", sa.Integer(), nullable=False),
    sa.Column("value", sa.String(length=10), nullable=False),
    sa.Column("comment", sa.Text(), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["turn_id"], ["turns.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_ratings_created", "created_at", "value"),
    sa.Index("ix_ratings_turn_id", "turn_id"),
)
sa.Table(
    "tool_calls",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("turn_id", sa.Integer(), nullable=False),
    sa.Column("name", sa.String(length=50), nullable=False),
    sa.Column("arguments", sa.JSON(), nullable=False),
    sa.Column("result", sa.JSON(), nullable=False),
    sa.Column("ok", sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(["turn_id"], ["turns.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_tool_calls_turn_id", "turn_id"),
)


def upgrade() -> None:
    bind = op.get_bind()
    metadata.create_all(bind)  # checkfirst: only the tables a database does not have yet
    existing = sa.inspect(bind)
    for table in metadata.sorted_tables:
        have = {column["name"] for column in existing.get_columns(table.name)}
        for column in table.columns:
            if column.name not in have:
                op.add_column(table.name, sa.Column(column.name, column.type, nullable=True))
        for index in table.indexes:
            index.create(bind, checkfirst=True)


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
