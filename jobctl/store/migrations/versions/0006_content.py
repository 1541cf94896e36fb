"""Create the content factory's tables: organizations, content_items and image_assets.

Revision ID: 0006_content
Revises: 0005_context

Written by hand and frozen, like the others: types are spelled out, not imported from the
models. (job_id, platform, variation) is unique so a retried job replaces its own drafts.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006_content"
down_revision: str | None = "0005_context"
branch_labels: str | None = None
depends_on: str | None = None


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("brand_voice", sa.Text(), nullable=True),
        sa.Column("tone", sa.String(200), nullable=False),
        sa.Column("brand_colors", _json(), nullable=False),
        sa.Column("hashtags_always", _json(), nullable=False),
        sa.Column("hashtags_never", _json(), nullable=False),
        sa.Column("limits", _json(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
    )
    op.create_table(
        "content_items",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("organization_id", sa.String(200), nullable=False),
        sa.Column("job_id", sa.String(128), nullable=True),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("variation", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("hashtags", _json(), nullable=False),
        sa.Column("context_item_ids", _json(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(100), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("external_post_id", sa.String(500), nullable=True),
        sa.Column("published_at", _ts(), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.UniqueConstraint("job_id", "platform", "variation", name="uq_content_items_job_variation"),
    )
    op.create_index("ix_content_items_org_created", "content_items", ["organization_id", "created_at"])
    op.create_index("ix_content_items_status", "content_items", ["status"])
    op.create_table(
        "image_assets",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("organization_id", sa.String(200), nullable=False),
        sa.Column(
            "content_item_id",
            sa.String(64),
            sa.ForeignKey("content_items.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("path", sa.String(4096), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(100), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
    )
    op.create_index("ix_image_assets_org_created", "image_assets", ["organization_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_image_assets_org_created", table_name="image_assets")
    op.drop_table("image_assets")
    op.drop_index("ix_content_items_status", table_name="content_items")
    op.drop_index("ix_content_items_org_created", table_name="content_items")
    op.drop_table("content_items")
    op.drop_table("organizations")
