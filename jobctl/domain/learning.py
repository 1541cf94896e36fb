"""Brand learning's records: one insight (`BrandLearning`), its kinds, and the thresholds that
decide when the metrics are enough to claim anything (`LearningConfig`).

Pure (no I/O). The engine (jobctl.services.analytics.learning) computes them from PostMetrics,
the store keeps the latest set per organisation, `jobctl learnings` and generate-content read them.

Every recompute writes exactly one SUMMARY row next to its insights: how many posts it learned
from, over which period, how many comparisons it tested, and when nothing is claimed, why
(`evidence.reason`: "no_metrics", "too_few_posts" or "no_significant_difference"). So an
operator always sees why there are no insights, and that the last sync did recompute them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class LearningKind(StrEnum):
    PLATFORM = "platform"  # a platform does better / worse than the others
    POSTING_HOUR = "posting_hour"  # a time-of-day window (local to the timezone in the evidence)
    POSTING_WEEKDAY = "posting_weekday"
    TOPIC = "topic"
    HASHTAG = "hashtag"
    SUMMARY = "summary"  # not an insight: what the recompute looked at, and why nothing if nothing


class NoInsightReason(StrEnum):
    NO_METRICS = "no_metrics"  # no post with an engagement rate at all
    TOO_FEW_POSTS = "too_few_posts"  # fewer than LearningConfig.min_posts
    NO_SIGNIFICANT_DIFFERENCE = "no_significant_difference"  # tested, nothing passed


MIN_POSTS_PER_GROUP = 10
"""No group (a platform, an hour window, a hashtag...) is compared with fewer posts than this,
and neither is the rest it is compared against. The Mann-Whitney test's normal approximation
needs ~10 a side, and an effect seen on 3 or 5 posts is mostly which posts they were."""

MIN_POSTS = 2 * MIN_POSTS_PER_GROUP
"""Fewer posts (with an engagement rate) than this in all: no comparison is even attempted."""

FALSE_DISCOVERY_RATE = 0.05
"""Benjamini-Hochberg level across every comparison of one recompute (all kinds together): with
no real effect anywhere, the chance that a recompute claims anything is about this."""


@dataclass(frozen=True)
class LearningConfig:
    """The thresholds of one recompute (module constants by default; tests and callers may lower
    or raise them). `hour_window` is the width in hours of the time-of-day buckets (a divisor of 24)."""

    min_posts_per_group: int = MIN_POSTS_PER_GROUP
    min_posts: int = MIN_POSTS
    false_discovery_rate: float = FALSE_DISCOVERY_RATE
    hour_window: int = 3
    confidence_level: float = 0.95  # of the interval on the difference of means

    def __post_init__(self) -> None:
        if self.min_posts_per_group < 2 or self.min_posts < 2 * self.min_posts_per_group:
            raise ValueError("min_posts_per_group must be >= 2 and min_posts >= 2 * min_posts_per_group")
        if not 0 < self.false_discovery_rate < 1 or not 0 < self.confidence_level < 1:
            raise ValueError("false_discovery_rate and confidence_level must be in (0, 1)")
        if self.hour_window < 1 or 24 % self.hour_window:
            raise ValueError("hour_window must divide 24")

    def to_json(self) -> dict[str, Any]:
        return {
            "min_posts_per_group": self.min_posts_per_group, "min_posts": self.min_posts,
            "false_discovery_rate": self.false_discovery_rate, "hour_window": self.hour_window,
            "confidence_level": self.confidence_level,
        }  # fmt: skip


def new_learning_id() -> str:
    return "lrn_" + secrets.token_hex(10)


def new_batch_id() -> str:
    return "lrb_" + secrets.token_hex(10)


@dataclass(frozen=True)
class BrandLearning:
    """One insight (or the SUMMARY of a recompute) for one organisation.

    `confidence` is 1 - q, q being the Benjamini-Hochberg adjusted p-value of the insight's
    Mann-Whitney U test (None for SUMMARY); `evidence` holds the test, its statistic, p and q,
    the sample sizes and means of both groups and the Welch t interval of the difference.
    `period_start`/`period_end` bound the posts' publication times (None: no posts).
    `batch_id` ties the rows of one recompute together.
    """

    organization_id: str
    kind: LearningKind
    insight: str
    evidence: dict[str, Any]
    confidence: float | None
    period_start: datetime | None
    period_end: datetime | None
    created_at: datetime
    batch_id: str = ""
    id: str = field(default_factory=new_learning_id)

    @property
    def is_insight(self) -> bool:
        return self.kind is not LearningKind.SUMMARY

    @property
    def direction(self) -> str | None:
        """ "better" or "worse" than usual (None for SUMMARY)."""
        value = self.evidence.get("direction")
        return value if isinstance(value, str) else None

    @property
    def subject(self) -> str | None:
        """What the insight is about: the platform, "09:00-12:00", "Tuesday", the topic, "#tag"."""
        value = self.evidence.get("group")
        return value if isinstance(value, str) else None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "organization_id": self.organization_id, "kind": self.kind.value,
            "insight": self.insight, "confidence": self.confidence, "evidence": self.evidence,
            "period_start": _iso(self.period_start), "period_end": _iso(self.period_end),
            "created_at": self.created_at.isoformat(), "batch_id": self.batch_id,
        }  # fmt: skip


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


_KIND_ORDER = {
    k: i
    for i, k in enumerate((LearningKind.SUMMARY, *(k for k in LearningKind if k is not LearningKind.SUMMARY)))
}


def sort_learnings(learnings: list[BrandLearning]) -> list[BrandLearning]:
    """SUMMARY first, then by kind (platform, hour, weekday, topic, hashtag), better before
    worse, most confident first: the order `jobctl learnings` shows them in."""
    return sorted(
        learnings,
        key=lambda b: (_KIND_ORDER[b.kind], b.direction != "better", -(b.confidence or 0.0), b.insight),
    )
