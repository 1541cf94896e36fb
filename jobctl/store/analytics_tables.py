"""The analytics table: `post_analytics`, one row per post per collection (so trends show).

No `from __future__ import annotations` (SQLModel reads annotations at class creation).
Columns are spelled out so the schema is exactly what migration 0012_post_analytics creates.

A row names its post by the platform's id (`external_post_id`) and, when the post is one of
ours, by our content item id (`content_item_id`, no foreign key: deleting a content item must
not delete the history of its post). Counts the platform did not report are 0, except
impressions and reach, which are NULL when unknown (an engagement rate over an unknown
denominator would be a lie). Topic and hashtags are not copied here: readers join
`content_items` (see AnalyticsRepository.list_metrics).
"""

from datetime import datetime

from sqlalchemy import BigInteger, Column, Float, Index, String, Table
from sqlmodel import Field, SQLModel

from jobctl.store.tables import UTCDateTime


class PostAnalyticsRow(SQLModel, table=True):
    __tablename__ = "post_analytics"
    __table_args__ = (
        Index("ix_post_analytics_org_collected", "organization_id", "collected_at"),
        Index("ix_post_analytics_account_collected", "social_account_id", "collected_at"),
        Index("ix_post_analytics_post", "platform", "external_post_id", "collected_at"),
        # The retention sweep's range and doctor's oldest row (migration 0013).
        Index("ix_post_analytics_collected_at", "collected_at"),
    )

    id: str = Field(sa_column=Column("id", String(64), primary_key=True))
    organization_id: str = Field(sa_column=Column("organization_id", String(200), nullable=False))
    social_account_id: str | None = Field(default=None, sa_column=Column("social_account_id", String(64)))
    platform: str = Field(sa_column=Column("platform", String(32), nullable=False))
    external_post_id: str = Field(sa_column=Column("external_post_id", String(500), nullable=False))
    content_item_id: str | None = Field(default=None, sa_column=Column("content_item_id", String(64)))
    impressions: int | None = Field(default=None, sa_column=Column("impressions", BigInteger))
    reach: int | None = Field(default=None, sa_column=Column("reach", BigInteger))
    likes: int = Field(sa_column=Column("likes", BigInteger, nullable=False))
    comments: int = Field(sa_column=Column("comments", BigInteger, nullable=False))
    shares: int = Field(sa_column=Column("shares", BigInteger, nullable=False))
    saves: int = Field(sa_column=Column("saves", BigInteger, nullable=False))
    clicks: int = Field(sa_column=Column("clicks", BigInteger, nullable=False))
    engagement_rate: float | None = Field(default=None, sa_column=Column("engagement_rate", Float))
    published_at: datetime | None = Field(default=None, sa_column=Column("published_at", UTCDateTime))
    collected_at: datetime = Field(sa_column=Column("collected_at", UTCDateTime, nullable=False))


POST_ANALYTICS: Table = SQLModel.metadata.tables["post_analytics"]
