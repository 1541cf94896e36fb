"""Create `brand_learnings`: the latest brand-learning insights of each organisation; add
`organizations.timezone` (IANA name, NULL: UTC), in which brand learning reads posting times.

Revision ID: 0009_brand_learning
Revises: 0008_api_tokens

Written by hand and frozen, like the others. Rows of one recompute share a `batch_id`; readers
take the newest batch of an organisation (index on organization_id, created_at).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009_brand_learning"
down_revision: str | None = "0008_api_tokens"
branch_labels: str | None = None
depends_on: str | None = None


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "brand_learnings",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("organization_id", sa.String(200), nullable=False),
        sa.Column("batch_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("insight", sa.Text(), nullable=False),
        sa.Column("evidence", _json(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("period_start", _ts(), nullable=True),
        sa.Column("period_end", _ts(), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
    )
    op.create_index("ix_brand_learnings_org_created", "brand_learnings", ["organization_id", "created_at"])
    op.create_index("ix_brand_learnings_batch", "brand_learnings", ["batch_id"])
    op.add_column("organizations", sa.Column("timezone", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("organizations") as batch:  # SQLite: a table copy
        batch.drop_column("timezone")
    op.drop_index("ix_brand_learnings_batch", table_name="brand_learnings")
    op.drop_index("ix_brand_learnings_org_created", table_name="brand_learnings")
    op.drop_table("brand_learnings")
