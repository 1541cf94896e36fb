"""What a metrics fetch returns, and the parsing every platform's metrics client shares.

A client's `post_metrics(query)` lists the account's posts published since `query.since`
(newest first, following the platform's pagination, at most `query.max_posts`) with their
counts as `PostStats`. Which posts: the platform's own list of the account's recent posts, not
only the ones jobctl published, so an organisation's analytics cover what its people posted by
hand too; the sync links the posts that are ours (content items with that external post id).

Counts a platform does not report are 0, impressions and reach None (see PostMetrics).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class MetricsQuery:
    since: datetime | None = None  # posts published at or after this time (None: all listed)
    max_posts: int = 200  # per account and sync: bounds the requests of one job
    page_size: int = 100  # posts per list request (each platform caps it: X 100, Meta 100)


@dataclass(frozen=True)
class PostStats:
    external_post_id: str
    published_at: datetime | None = None
    impressions: int | None = None
    reach: int | None = None
    likes: int = 0
    comments: int = 0
    shares: int = 0
    saves: int = 0
    clicks: int = 0


def count(value: Any) -> int:
    """A platform count as an int (absent, null or garbage: 0)."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(0, value)
    if isinstance(value, float):
        return max(0, int(value))
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return 0


def maybe_count(value: Any) -> int | None:
    return None if value is None else count(value)


def parse_time(value: Any) -> datetime | None:
    """X's `2024-05-01T12:00:00.000Z`, Meta's `2024-05-01T12:00:00+0000`, LinkedIn's epoch ms."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():  # +0000 -> +00:00
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def insight_values(body: Any) -> dict[str, int]:
    """Meta's insights answer `{"data": [{"name", "period", "values": [{"value"}]}]}` (Pages,
    Instagram) or `{"data": [{"name", "total_value": {"value"}}]}` as name -> lifetime value."""
    out: dict[str, int] = {}
    data = body.get("data") if isinstance(body, Mapping) else None
    for metric in data if isinstance(data, list) else []:
        if not isinstance(metric, Mapping) or not isinstance(metric.get("name"), str):
            continue
        values = metric.get("values")
        if isinstance(values, list) and values and isinstance(values[-1], Mapping):
            out[metric["name"]] = count(values[-1].get("value"))
        elif isinstance(metric.get("total_value"), Mapping):
            out[metric["name"]] = count(metric["total_value"].get("value"))
    return out


def after_cursor(body: Any) -> str | None:
    """The Graph API's next-page cursor (`paging.cursors.after`), only when `paging.next` says
    there is a next page (the absolute `next` URL itself is not followed: it would bypass the
    configured base URL)."""
    paging = body.get("paging") if isinstance(body, Mapping) else None
    if not isinstance(paging, Mapping) or not paging.get("next"):
        return None
    cursors = paging.get("cursors")
    after = cursors.get("after") if isinstance(cursors, Mapping) else None
    return after if isinstance(after, str) and after else None


def unix(when: datetime) -> int:
    return int(when.timestamp())
