"""一件事 bundles with their versions and the chat's walks through them (govdata/bundles.py), and
the electronic material library (govdata/library.py).

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bundle_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bundle_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("sample", sa.Boolean(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("bundle_id", "version"),
    )
    op.create_index("ix_bundle_versions_bundle_id", "bundle_versions", ["bundle_id"])
    op.create_table(
        "bundle_walks",
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("bundle_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_id"),
    )
    op.create_table(
        "library_materials",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner_ref", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("item_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("owner_ref", "sha256"),
    )
    op.create_index("ix_library_materials_owner_ref", "library_materials", ["owner_ref"])


def downgrade() -> None:
    op.drop_table("library_materials")
    op.drop_table("bundle_walks")
    op.drop_table("bundle_versions")
