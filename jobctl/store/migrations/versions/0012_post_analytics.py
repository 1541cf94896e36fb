"""Create `post_analytics`: one row per post per analytics collection.

Revision ID: 0012_post_analytics
Revises: 0011_token_encryption

Written by hand and frozen, like the others. Self-contained (no reference to other migrations), so
it can be re-chained after another branch's migration at merge time.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_post_analytics"
down_revision: str | None = "0011_token_encryption"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "post_analytics",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("organization_id", sa.String(200), nullable=False),
        sa.Column("social_account_id", sa.String(64), nullable=True),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("external_post_id", sa.String(500), nullable=False),
        sa.Column("content_item_id", sa.String(64), nullable=True),
        sa.Column("impressions", sa.BigInteger(), nullable=True),
        sa.Column("reach", sa.BigInteger(), nullable=True),
        sa.Column("likes", sa.BigInteger(), nullable=False),
        sa.Column("comments", sa.BigInteger(), nullable=False),
        sa.Column("shares", sa.BigInteger(), nullable=False),
        sa.Column("saves", sa.BigInteger(), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("engagement_rate", sa.Float(), nullable=True),
        sa.Column("published_at", ts, nullable=True),
        sa.Column("collected_at", ts, nullable=False),
    )
    op.create_index("ix_post_analytics_org_collected", "post_analytics", ["organization_id", "collected_at"])
    op.create_index(
        "ix_post_analytics_account_collected", "post_analytics", ["social_account_id", "collected_at"]
    )
    op.create_index(
        "ix_post_analytics_post", "post_analytics", ["platform", "external_post_id", "collected_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_post_analytics_post", table_name="post_analytics")
    op.drop_index("ix_post_analytics_account_collected", table_name="post_analytics")
    op.drop_index("ix_post_analytics_org_collected", table_name="post_analytics")
    op.drop_table("post_analytics")
