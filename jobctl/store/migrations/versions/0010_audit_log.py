"""Create `audit_log`: one row per bulk action (who, what, which filter, how many, when).

Revision ID: 0010_audit_log
Revises: 0009_brand_learning

Written by hand and frozen, like the others. JSON columns are JSONB on PostgreSQL and JSON
text on SQLite (tables.json_type); `at` is indexed for `jobctl audit list`, newest first.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0010_audit_log"
down_revision: str | None = "0009_brand_learning"
branch_labels: str | None = None
depends_on: str | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("actor_kind", sa.String(16), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("filter", _json(), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("detail", _json()),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
