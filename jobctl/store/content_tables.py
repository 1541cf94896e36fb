"""The content factory's tables: `organizations`, the `content_items` generated for them, and the
`image_assets` drawn for them.

No `from __future__ import annotations` (SQLModel reads annotations at class creation).
Columns are spelled out so the schema is exactly what migration 0006 creates.

- An organisation's id is the id jobs carry (`--org acme`); jobs for an id without a row still
  run, with default brand settings (jobctl.domain.content.Organization.defaults).
- A content item is unique per (job_id, platform, variation): a retried generate-content job
  replaces its own drafts instead of adding a second set.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from jobctl.store.tables import UTCDateTime, json_type


class Organization(SQLModel, table=True):
    """An organisation's brand: voice, tone, colours, hashtag rules and limits."""

    __tablename__ = "organizations"

    id: str = Field(sa_column=Column("id", String(200), primary_key=True))
    name: str = Field(sa_column=Column("name", String(200), nullable=False))
    brand_voice: str | None = Field(default=None, sa_column=Column("brand_voice", Text))
    tone: str = Field(sa_column=Column("tone", String(200), nullable=False))
    brand_colors: Any = Field(sa_column=Column("brand_colors", json_type(), nullable=False))
    hashtags_always: Any = Field(sa_column=Column("hashtags_always", json_type(), nullable=False))
    hashtags_never: Any = Field(sa_column=Column("hashtags_never", json_type(), nullable=False))
    limits: Any = Field(sa_column=Column("limits", json_type(), nullable=False))
    created_at: datetime = Field(sa_column=Column("created_at", UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column("updated_at", UTCDateTime, nullable=False))
    timezone: str | None = Field(default=None, sa_column=Column("timezone", String(64)))  # 0009


class ContentItem(SQLModel, table=True):
    """One generated variation for one platform, and its publishing state."""

    __tablename__ = "content_items"
    __table_args__ = (
        UniqueConstraint("job_id", "platform", "variation", name="uq_content_items_job_variation"),
        Index("ix_content_items_org_created", "organization_id", "created_at"),
        Index("ix_content_items_status", "status"),
    )

    id: str = Field(sa_column=Column("id", String(64), primary_key=True))
    organization_id: str = Field(sa_column=Column("organization_id", String(200), nullable=False))
    job_id: str | None = Field(default=None, sa_column=Column("job_id", String(128)))
    topic: str = Field(sa_column=Column("topic", Text, nullable=False))
    platform: str = Field(sa_column=Column("platform", String(32), nullable=False))
    variation: int = Field(sa_column=Column("variation", Integer, nullable=False))
    body: str = Field(sa_column=Column("body", Text, nullable=False))
    hashtags: Any = Field(sa_column=Column("hashtags", json_type(), nullable=False))
    context_item_ids: Any = Field(sa_column=Column("context_item_ids", json_type(), nullable=False))
    status: str = Field(sa_column=Column("status", String(16), nullable=False))
    provider: str = Field(sa_column=Column("provider", String(100), nullable=False))
    model: str = Field(sa_column=Column("model", String(200), nullable=False))
    external_post_id: str | None = Field(default=None, sa_column=Column("external_post_id", String(500)))
    published_at: datetime | None = Field(default=None, sa_column=Column("published_at", UTCDateTime))
    created_at: datetime = Field(sa_column=Column("created_at", UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column("updated_at", UTCDateTime, nullable=False))


class ImageAsset(SQLModel, table=True):
    """An image file under the data dir, drawn for an organisation (and maybe a content item)."""

    __tablename__ = "image_assets"
    __table_args__ = (Index("ix_image_assets_org_created", "organization_id", "created_at"),)

    id: str = Field(sa_column=Column("id", String(64), primary_key=True))
    organization_id: str = Field(sa_column=Column("organization_id", String(200), nullable=False))
    content_item_id: str | None = Field(
        default=None,
        sa_column=Column("content_item_id", String(64), ForeignKey("content_items.id", ondelete="SET NULL")),
    )
    prompt: str = Field(sa_column=Column("prompt", Text, nullable=False))
    path: str = Field(sa_column=Column("path", String(4096), nullable=False))
    width: int = Field(sa_column=Column("width", Integer, nullable=False))
    height: int = Field(sa_column=Column("height", Integer, nullable=False))
    provider: str = Field(sa_column=Column("provider", String(100), nullable=False))
    created_at: datetime = Field(sa_column=Column("created_at", UTCDateTime, nullable=False))


ORGS: Table = SQLModel.metadata.tables["organizations"]
CONTENT: Table = SQLModel.metadata.tables["content_items"]
IMAGES: Table = SQLModel.metadata.tables["image_assets"]
