"""Material templates with their versions in the database (govdata/materials.py: template_versions,
seeded from demo/templates by `xiaobao init`), and what the pre-review read in an upload kept in the
electronic material library (library_materials.read_values; empty for rows kept before).

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "template_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("template_id", "version"),
    )
    op.create_index("ix_template_versions_template_id", "template_versions", ["template_id"])
    op.add_column("library_materials", sa.Column("read_values", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("library_materials", "read_values")
    op.drop_table("template_versions")
