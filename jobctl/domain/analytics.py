"""Post metrics as collected by `sync-analytics`: the one record the analytics sync writes
(one per post per collection, so trends can be seen) and brand learning reads.

This module is the contract between the two: the sync fills `PostMetrics` from each
platform's API, the learning engine computes insights over a list of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class PostMetrics:
    """One post's engagement at one collection time.

    `engagement_rate` is (likes + comments + shares + saves + clicks) / impressions, or None
    when the platform reported no impressions; `published_at`, `topic` and `hashtags` come
    from our ContentItem when the post is ours (None / empty otherwise).
    """

    organization_id: str
    platform: str
    external_post_id: str
    collected_at: datetime
    social_account_id: str | None = None
    content_item_id: str | None = None
    impressions: int | None = None
    reach: int | None = None
    likes: int = 0
    comments: int = 0
    shares: int = 0
    saves: int = 0
    clicks: int = 0
    engagement_rate: float | None = None
    published_at: datetime | None = None
    topic: str | None = None
    hashtags: tuple[str, ...] = field(default_factory=tuple)

    def interactions(self) -> int:
        return self.likes + self.comments + self.shares + self.saves + self.clicks

    def to_json(self) -> dict[str, Any]:
        return {
            "organization_id": self.organization_id, "platform": self.platform,
            "external_post_id": self.external_post_id,
            "collected_at": self.collected_at.isoformat(),
            "social_account_id": self.social_account_id, "content_item_id": self.content_item_id,
            "impressions": self.impressions, "reach": self.reach, "likes": self.likes,
            "comments": self.comments, "shares": self.shares, "saves": self.saves,
            "clicks": self.clicks, "engagement_rate": self.engagement_rate,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "topic": self.topic, "hashtags": list(self.hashtags),
        }  # fmt: skip


def engagement_rate(impressions: int | None, interactions: int) -> float | None:
    """Interactions per impression; None when the platform gave no impressions."""
    if not impressions:
        return None
    return interactions / impressions
