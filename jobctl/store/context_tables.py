"""The context engine's tables: `context_sources` and the `context_items` synced from them.

No `from __future__ import annotations` (SQLModel reads annotations at class creation).
Columns are spelled out so the schema is exactly what migration 0005 creates.

- A source is unique per (organization_id, url): adding the same URL again finds the first.
- An item is unique per (source_id, dedupe_key): the key is the item's guid, else its link,
  else its content hash (jobctl.domain.context.dedupe_key), so re-syncs add nothing twice.
- `last_failed_job_id` lets the retries of one job count as one failure.
"""

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from jobctl.store.tables import UTCDateTime


class ContextSource(SQLModel, table=True):
    """A website, feed or document an organisation takes context from, and its sync health."""

    __tablename__ = "context_sources"
    __table_args__ = (
        UniqueConstraint("organization_id", "url", name="uq_context_sources_org_url"),
        Index("ix_context_sources_status", "status"),
    )

    id: str = Field(sa_column=Column("id", String(64), primary_key=True))
    organization_id: str = Field(sa_column=Column("organization_id", String(200), nullable=False))
    kind: str = Field(sa_column=Column("kind", String(16), nullable=False))
    url: str = Field(sa_column=Column("url", String(2048), nullable=False))
    name: str | None = Field(default=None, sa_column=Column("name", String(200)))
    status: str = Field(sa_column=Column("status", String(16), nullable=False))
    consecutive_failures: int = Field(sa_column=Column("consecutive_failures", Integer, nullable=False))
    last_success_at: datetime | None = Field(default=None, sa_column=Column("last_success_at", UTCDateTime))
    last_failure_at: datetime | None = Field(default=None, sa_column=Column("last_failure_at", UTCDateTime))
    last_error: str | None = Field(default=None, sa_column=Column("last_error", Text))
    last_failed_job_id: str | None = Field(default=None, sa_column=Column("last_failed_job_id", String(128)))
    etag: str | None = Field(default=None, sa_column=Column("etag", String(1024)))
    last_modified: str | None = Field(default=None, sa_column=Column("last_modified", String(200)))
    created_at: datetime = Field(sa_column=Column("created_at", UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column("updated_at", UTCDateTime, nullable=False))


class ContextItem(SQLModel, table=True):
    """One article, feed entry or document chunk, kept once per source (by dedupe key)."""

    __tablename__ = "context_items"
    __table_args__ = (
        UniqueConstraint("source_id", "dedupe_key", name="uq_context_items_source_key"),
        Index("ix_context_items_org_fetched", "organization_id", "fetched_at"),
        Index("ix_context_items_source_fetched", "source_id", "fetched_at"),
    )

    id: str = Field(sa_column=Column("id", String(64), primary_key=True))
    source_id: str = Field(
        sa_column=Column(
            "source_id", String(64), ForeignKey("context_sources.id", ondelete="CASCADE"), nullable=False
        )
    )
    organization_id: str = Field(sa_column=Column("organization_id", String(200), nullable=False))
    url: str | None = Field(default=None, sa_column=Column("url", String(2048)))
    guid: str | None = Field(default=None, sa_column=Column("guid", String(2048)))
    dedupe_key: str = Field(sa_column=Column("dedupe_key", String(64), nullable=False))
    title: str | None = Field(default=None, sa_column=Column("title", Text))
    author: str | None = Field(default=None, sa_column=Column("author", String(500)))
    published_at: datetime | None = Field(default=None, sa_column=Column("published_at", UTCDateTime))
    text: str = Field(sa_column=Column("text", Text, nullable=False))
    content_hash: str = Field(sa_column=Column("content_hash", String(64), nullable=False))
    fetched_at: datetime = Field(sa_column=Column("fetched_at", UTCDateTime, nullable=False))


SOURCES: Table = SQLModel.metadata.tables["context_sources"]
ITEMS: Table = SQLModel.metadata.tables["context_items"]
