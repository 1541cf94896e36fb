"""Create the publishing tables: social_accounts and publish_attempts.

Revision ID: 0007_social_accounts
Revises: 0006_content

Written by hand and frozen, like the others. Self-contained (no reference to other 0007s), so
it can be re-chained after another branch's migration at merge time.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_social_accounts"
down_revision: str | None = "0006_content"
branch_labels: str | None = None
depends_on: str | None = None


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "social_accounts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("organization_id", sa.String(200), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("handle", sa.String(200), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.Column("token_expires_at", _ts(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
    )
    op.create_index("ix_social_accounts_org_platform", "social_accounts", ["organization_id", "platform"])
    op.create_table(
        "publish_attempts",
        sa.Column("content_item_id", sa.String(64), primary_key=True),
        sa.Column("social_account_id", sa.String(64), nullable=False),
        sa.Column("attempt_key", sa.String(64), nullable=False),
        sa.Column("job_id", sa.String(128), nullable=True),
        sa.Column("started_at", _ts(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("publish_attempts")
    op.drop_index("ix_social_accounts_org_platform", table_name="social_accounts")
    op.drop_table("social_accounts")
