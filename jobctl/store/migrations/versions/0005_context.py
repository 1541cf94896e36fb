"""Create the context engine's tables: context_sources and context_items.

Revision ID: 0005_context
Revises: 0004_job_attempts (to be relinked after 0004/0005 when the branches merge)

Written by hand and frozen, like the others: types are spelled out, not imported from the
models. The unique constraints are the idempotence of `sources add` (organisation, url) and
of re-syncs (source, dedupe key).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_context"
down_revision: str | None = "0004_job_attempts"
branch_labels: str | None = None
depends_on: str | None = None


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "context_sources",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("organization_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("last_success_at", _ts(), nullable=True),
        sa.Column("last_failure_at", _ts(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_failed_job_id", sa.String(128), nullable=True),
        sa.Column("etag", sa.String(1024), nullable=True),
        sa.Column("last_modified", sa.String(200), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.UniqueConstraint("organization_id", "url", name="uq_context_sources_org_url"),
    )
    op.create_index("ix_context_sources_status", "context_sources", ["status"])
    op.create_table(
        "context_items",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "source_id",
            sa.String(64),
            sa.ForeignKey("context_sources.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("organization_id", sa.String(200), nullable=False),
        sa.Column("url", sa.String(2048), nullable=True),
        sa.Column("guid", sa.String(2048), nullable=True),
        sa.Column("dedupe_key", sa.String(64), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("author", sa.String(500), nullable=True),
        sa.Column("published_at", _ts(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("fetched_at", _ts(), nullable=False),
        sa.UniqueConstraint("source_id", "dedupe_key", name="uq_context_items_source_key"),
    )
    op.create_index("ix_context_items_org_fetched", "context_items", ["organization_id", "fetched_at"])
    op.create_index("ix_context_items_source_fetched", "context_items", ["source_id", "fetched_at"])


def downgrade() -> None:
    op.drop_index("ix_context_items_source_fetched", table_name="context_items")
    op.drop_index("ix_context_items_org_fetched", table_name="context_items")
    op.drop_table("context_items")
    op.drop_index("ix_context_sources_status", table_name="context_sources")
    op.drop_table("context_sources")
