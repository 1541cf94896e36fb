"""Create `api_tokens`: the HTTP API's bearer tokens, stored as SHA-256 digests only.

Revision ID: 0008_api_tokens
Revises: 0007_social_accounts

Written by hand and frozen, like the others. `organization_id` is NULL for an admin token
(operators: every organisation). `token_hash` is unique: authenticating is one index lookup.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_api_tokens"
down_revision: str | None = "0007_social_accounts"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("organization_id", sa.String(200), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("admin", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )


def downgrade() -> None:
    op.drop_table("api_tokens")
