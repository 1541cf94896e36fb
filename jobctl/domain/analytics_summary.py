"""What `jobctl analytics show` reports, computed from PostMetrics rows (pure, no I/O).

- Per platform and overall: the newest collection of each post, summed. The engagement rate is
  weighted, sum(interactions) / sum(impressions) over the posts whose impressions are known, so
  one post with 3 impressions and 2 likes does not outweigh a post seen 10,000 times.
- Impressions and reach are None when no post reported them (Threads has no reach, X no reach).
- Engagement over time: the collections bucketed by hour (a window shorter than 3 days) or by day;
  each bucket takes the newest collection of each post inside it and the same weighted rate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jobctl.domain.analytics import PostMetrics

ALL = "all"
_COUNTS = ("likes", "comments", "shares", "saves", "clicks")


@dataclass(frozen=True)
class Totals:
    platform: str
    posts: int
    accounts: int
    impressions: int | None
    reach: int | None
    likes: int
    comments: int
    shares: int
    saves: int
    clicks: int
    engagement_rate: float | None
    last_collected_at: datetime | None

    @property
    def interactions(self) -> int:
        return self.likes + self.comments + self.shares + self.saves + self.clicks

    def to_json(self) -> dict[str, Any]:
        return {
            "platform": self.platform, "posts": self.posts, "accounts": self.accounts,
            "impressions": self.impressions, "reach": self.reach, "interactions": self.interactions,
            **{name: getattr(self, name) for name in _COUNTS},
            "engagement_rate": self.engagement_rate,
            "last_collected_at": self.last_collected_at.isoformat() if self.last_collected_at else None,
        }  # fmt: skip


@dataclass(frozen=True)
class Point:
    at: datetime  # the bucket's start
    engagement_rate: float | None
    posts: int

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "engagement_rate": self.engagement_rate, "posts": self.posts}


@dataclass(frozen=True)
class Summary:
    organization_id: str
    since: datetime
    bucket: str  # "hour" | "day"
    platforms: list[Totals]
    overall: Totals
    series: dict[str, list[Point]]  # platform (and "all") -> engagement over time

    def to_json(self) -> dict[str, Any]:
        return {
            "organization_id": self.organization_id, "since": self.since.isoformat(), "bucket": self.bucket,
            "overall": self.overall.to_json(), "platforms": [t.to_json() for t in self.platforms],
            "series": {name: [p.to_json() for p in points] for name, points in self.series.items()},
        }  # fmt: skip


def weighted_rate(rows: Iterable[PostMetrics]) -> float | None:
    seen = interactions = 0
    for r in rows:
        if r.impressions:
            seen += r.impressions
            interactions += r.interactions()
    return interactions / seen if seen else None


def newest_per_post(rows: Iterable[PostMetrics]) -> list[PostMetrics]:
    newest: dict[tuple[str, str], PostMetrics] = {}
    for r in rows:
        key = (r.platform, r.external_post_id)
        if key not in newest or r.collected_at >= newest[key].collected_at:
            newest[key] = r
    return list(newest.values())


def totals(platform: str, rows: Sequence[PostMetrics]) -> Totals:
    return Totals(
        platform=platform, posts=len(rows), accounts=len({r.social_account_id for r in rows}),
        impressions=_known_sum(r.impressions for r in rows), reach=_known_sum(r.reach for r in rows),
        **{name: sum(getattr(r, name) for r in rows) for name in _COUNTS},
        engagement_rate=weighted_rate(rows),
        last_collected_at=max((r.collected_at for r in rows), default=None),
    )  # fmt: skip


def _known_sum(values: Iterable[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _bucket_start(when: datetime, size: timedelta) -> datetime:
    if size >= timedelta(days=1):
        return when.replace(hour=0, minute=0, second=0, microsecond=0)
    return when.replace(minute=0, second=0, microsecond=0)


def series(rows: Sequence[PostMetrics], since: datetime, now: datetime) -> tuple[str, list[Point]]:
    """Engagement over time from every collection in the window, one point per bucket (None
    where no post with impressions was collected)."""
    size = timedelta(hours=1) if now - since < timedelta(days=3) else timedelta(days=1)
    buckets: dict[datetime, list[PostMetrics]] = defaultdict(list)
    for r in rows:
        buckets[_bucket_start(r.collected_at, size)].append(r)
    points: list[Point] = []
    if buckets:  # every bucket from the first to the last: a bucket without collections is a gap
        start, last = min(buckets), max(buckets)
        while start <= last:
            newest = newest_per_post(buckets.get(start, ()))
            points.append(Point(start, weighted_rate(newest), len(newest)))
            start += size
    return ("hour" if size < timedelta(days=1) else "day"), points


def summarise(
    organization_id: str, latest: Sequence[PostMetrics], history: Sequence[PostMetrics], since: datetime,
    now: datetime,
) -> Summary:  # fmt: skip
    """`latest`: the newest collection of each post; `history`: every collection in the window."""
    by_platform: dict[str, list[PostMetrics]] = defaultdict(list)
    for r in latest:
        by_platform[r.platform].append(r)
    bucket, overall_series = series(history, since, now)
    out_series = {ALL: overall_series}
    for name in sorted(by_platform):
        out_series[name] = series([r for r in history if r.platform == name], since, now)[1]
    return Summary(
        organization_id,
        since,
        bucket,
        [totals(name, by_platform[name]) for name in sorted(by_platform)],
        totals(ALL, latest),
        out_series,
    )


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float | None]) -> str:
    """One character per value, scaled between the smallest and largest; a gap is a space."""
    known = [v for v in values if v is not None]
    if not known:
        return ""
    low, high = min(known), max(known)
    span = high - low
    out = []
    for v in values:
        if v is None:
            out.append(" ")
        elif span == 0:
            out.append(SPARKS[len(SPARKS) // 2])
        else:
            out.append(SPARKS[min(len(SPARKS) - 1, int((v - low) / span * (len(SPARKS) - 1) + 0.5))])
    return "".join(out)
