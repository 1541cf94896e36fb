"""The `brand_learnings` table (migration 0009): each organisation's latest brand-learning set.

No `from __future__ import annotations` (SQLModel reads annotations at class creation).
Columns are spelled out so the schema is exactly what migration 0009 creates.

One recompute writes one batch (`batch_id`): its SUMMARY row and its insights. The repository
replaces an organisation's rows with the new batch in one transaction, and reads only the
newest batch, so two syncs finishing together never show a mixed set.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Float, Index, String, Table, Text
from sqlmodel import Field, SQLModel

from jobctl.store.tables import UTCDateTime, json_type


class BrandLearningRow(SQLModel, table=True):
    """One insight (or a recompute's SUMMARY) with its evidence and confidence."""

    __tablename__ = "brand_learnings"
    __table_args__ = (
        Index("ix_brand_learnings_org_created", "organization_id", "created_at"),
        Index("ix_brand_learnings_batch", "batch_id"),
    )

    id: str = Field(sa_column=Column("id", String(32), primary_key=True))
    organization_id: str = Field(sa_column=Column("organization_id", String(200), nullable=False))
    batch_id: str = Field(sa_column=Column("batch_id", String(32), nullable=False))
    kind: str = Field(sa_column=Column("kind", String(32), nullable=False))
    insight: str = Field(sa_column=Column("insight", Text, nullable=False))
    evidence: Any = Field(sa_column=Column("evidence", json_type(), nullable=False))
    confidence: float | None = Field(default=None, sa_column=Column("confidence", Float))
    period_start: datetime | None = Field(default=None, sa_column=Column("period_start", UTCDateTime))
    period_end: datetime | None = Field(default=None, sa_column=Column("period_end", UTCDateTime))
    created_at: datetime = Field(sa_column=Column("created_at", UTCDateTime, nullable=False))


LEARNINGS: Table = SQLModel.metadata.tables["brand_learnings"]
