"""Brand learning: from an organisation's post metrics, the findings an operator can act on.

`learn()` is pure: PostMetrics in, BrandLearning records out (no I/O; `recompute` in
jobctl.services.analytics.recompute stores them). How a finding is made:

1. Only the latest collection of each post counts (key: platform + external post id), and only
   posts whose platform reported impressions (an engagement rate).
2. Every comparison is one group against the rest of the posts: a platform against the other
   platforms; a time-of-day window (`hour_window` hours wide) or a weekday against the other
   times (publication time in the organisation's timezone when known, else UTC: the evidence
   says which); a topic against the other posts; posts with a hashtag against posts without it.
3. Platforms are compared on their engagement rate. Every other comparison uses the rate
   relative to the mean rate of the post's platform, so a hashtag used mostly on a platform with
   a high baseline does not look good for that reason alone.
4. A group is compared only when it and the rest both have >= `min_posts_per_group` posts, and
   nothing is compared below `min_posts` posts in all (jobctl.domain.learning: 10 and 20).
5. Each comparison is a two-sided Mann-Whitney U test (a rank test: engagement rates are
   skewed, see jobctl.services.analytics.stats) with, as the size of the effect, the difference
   of mean rates and its Welch t interval. The p-values of all the comparisons of one recompute,
   every kind together, are adjusted by Benjamini-Hochberg, and a group is a finding when its
   q <= `false_discovery_rate` (0.05) and its means differ the way its ranks do. So with no
   effect anywhere a recompute claims something about 5% of the time or less (measured: 4-6%
   over 300 seeds of lognormal rates, tests/unit/analytics/test_learning.py).

The result always holds one SUMMARY record (first): posts, period, comparisons, and why nothing
was claimed when nothing was.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jobctl.domain.analytics import PostMetrics
from jobctl.domain.learning import (
    BrandLearning,
    LearningConfig,
    LearningKind,
    NoInsightReason,
    new_batch_id,
    sort_learnings,
)
from jobctl.services.analytics.stats import (
    MannWhitneyResult,
    WelchResult,
    benjamini_hochberg,
    mann_whitney_u,
    welch_test,
)
from jobctl.services.analytics.text import describe_finding, describe_summary

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
TEST_NAME = "Mann-Whitney U test (two-sided, normal approximation, tie and continuity corrected)"
INTERVAL_NAME = "Welch t interval of the difference of means"
CORRECTION = "Benjamini-Hochberg"


@dataclass(frozen=True)
class _Post:
    metrics: PostMetrics
    rate: float
    relative: float  # rate / the mean rate of the post's platform (1.0 when that mean is 0)
    local: datetime | None  # publication time in the learning's timezone


@dataclass(frozen=True)
class _Comparison:
    kind: LearningKind
    group: str
    inside: list[_Post]
    outside: list[_Post]
    result: WelchResult
    ranks: MannWhitneyResult

    @property
    def p_value(self) -> float:
        return self.ranks.p_value

    @property
    def consistent(self) -> bool:
        """The means differ in the direction the ranks do (else nothing is claimed)."""
        d = self.result.difference
        return (d > 0 and self.ranks.superiority > 0.5) or (d < 0 and self.ranks.superiority < 0.5)


def latest_per_post(metrics: Iterable[PostMetrics]) -> list[PostMetrics]:
    """The newest collection of each post (platform, external id), oldest post first."""
    latest: dict[tuple[str, str], PostMetrics] = {}
    for m in metrics:
        key = (m.platform, m.external_post_id)
        if key not in latest or m.collected_at > latest[key].collected_at:
            latest[key] = m
    return sorted(latest.values(), key=lambda m: (m.published_at or m.collected_at, m.external_post_id))


def resolve_timezone(name: str | None) -> tuple[tzinfo, str, str | None]:
    """(zone, its name, a note when the name was unknown and UTC is used instead)."""
    if not name:
        return UTC, "UTC", None
    try:
        return ZoneInfo(name), name, None
    except (ZoneInfoNotFoundError, ValueError):
        return UTC, "UTC", f"unknown timezone {name!r}: UTC used"


def learn(
    organization_id: str,
    metrics: Sequence[PostMetrics],
    now: datetime,
    *,
    timezone: str | None = None,
    config: LearningConfig | None = None,
) -> list[BrandLearning]:
    """The organisation's findings from `metrics` (SUMMARY first, then by kind, strongest first)."""
    config = config or LearningConfig()
    zone, zone_name, zone_note = resolve_timezone(timezone)
    posts = _posts([m for m in latest_per_post(metrics) if m.organization_id == organization_id], zone)
    times = [p.metrics.published_at or p.metrics.collected_at for p in posts]
    period = (min(times), max(times)) if times else (None, None)
    batch = new_batch_id()
    summary: dict[str, Any] = {
        "posts": len(posts), "timezone": zone_name, "test": TEST_NAME, "test_short": "Mann-Whitney U tests",
        "interval": INTERVAL_NAME, "correction": CORRECTION,
        **config.to_json(),
    }  # fmt: skip
    if zone_note:
        summary["timezone_note"] = zone_note

    def record(
        kind: LearningKind, text: str, evidence: dict[str, Any], confidence: float | None
    ) -> BrandLearning:
        return BrandLearning(
            organization_id, kind, text, evidence, confidence, period[0], period[1], now, batch_id=batch
        )

    if len(posts) < config.min_posts:
        reason = NoInsightReason.NO_METRICS if not posts else NoInsightReason.TOO_FEW_POSTS
        summary |= {"reason": reason.value, "comparisons": 0, "findings": 0}
        return [record(LearningKind.SUMMARY, describe_summary(summary), summary, None)]
    comparisons, too_small = _comparisons(posts, config)
    qs = benjamini_hochberg([c.p_value for c in comparisons])
    found: list[BrandLearning] = []
    best_platform = _best_platform(comparisons, qs, config)
    for c, q in zip(comparisons, qs, strict=True):
        if q > config.false_discovery_rate or not c.consistent:
            continue
        evidence = _evidence(c, q, len(comparisons), config, zone_name)
        text = describe_finding(
            c.kind, evidence, best=c.group == best_platform and c.kind is LearningKind.PLATFORM
        )
        found.append(record(c.kind, text, evidence, round(1.0 - q, 6)))
    summary |= {
        "comparisons": len(comparisons), "findings": len(found), "groups_too_small": too_small,
        "posts_with_publication_time": sum(1 for p in posts if p.local is not None),
    }  # fmt: skip
    if not found:
        summary["reason"] = NoInsightReason.NO_SIGNIFICANT_DIFFERENCE.value
    return sort_learnings([record(LearningKind.SUMMARY, describe_summary(summary), summary, None), *found])


def _posts(metrics: list[PostMetrics], zone: tzinfo) -> list[_Post]:
    rated = [m for m in metrics if m.engagement_rate is not None]
    by_platform: dict[str, list[float]] = defaultdict(list)
    for m in rated:
        by_platform[m.platform].append(float(m.engagement_rate or 0.0))
    means = {p: sum(v) / len(v) for p, v in by_platform.items()}
    out = []
    for m in rated:
        rate = float(m.engagement_rate or 0.0)
        base = means[m.platform]
        local = m.published_at.astimezone(zone) if m.published_at is not None else None
        out.append(_Post(m, rate, rate / base if base > 0 else 1.0, local))
    return out


def _groups(posts: list[_Post], config: LearningConfig) -> dict[LearningKind, dict[str, list[_Post]]]:
    groups: dict[LearningKind, dict[str, list[_Post]]] = {
        k: defaultdict(list) for k in LearningKind if k is not LearningKind.SUMMARY
    }
    w = config.hour_window
    for p in posts:
        groups[LearningKind.PLATFORM][p.metrics.platform].append(p)
        if p.local is not None:
            start = p.local.hour // w * w
            groups[LearningKind.POSTING_HOUR][f"{start:02d}:00-{start + w:02d}:00"].append(p)
            groups[LearningKind.POSTING_WEEKDAY][WEEKDAYS[p.local.weekday()]].append(p)
        if p.metrics.topic and (topic := " ".join(p.metrics.topic.split())):
            groups[LearningKind.TOPIC][topic.casefold()].append(p)
        for tag in dict.fromkeys(_tag(t) for t in p.metrics.hashtags):
            if tag:
                groups[LearningKind.HASHTAG][tag].append(p)
    return groups


def _tag(text: str) -> str:
    word = re.sub(r"\W", "", text)
    return "#" + word.casefold() if word else ""


def _comparisons(posts: list[_Post], config: LearningConfig) -> tuple[list[_Comparison], dict[str, int]]:
    """One test per group big enough (both sides); the count of groups too small, by kind."""
    out: list[_Comparison] = []
    too_small: dict[str, int] = {}
    timed = [p for p in posts if p.local is not None]
    for kind, groups in _groups(posts, config).items():
        universe = timed if kind in (LearningKind.POSTING_HOUR, LearningKind.POSTING_WEEKDAY) else posts
        small = 0
        for group, inside in sorted(groups.items()):
            members = {id(p) for p in inside}
            outside = [p for p in universe if id(p) not in members]
            if len(inside) < config.min_posts_per_group or len(outside) < config.min_posts_per_group:
                small += 1
                continue
            value = _value_of(kind)
            a, b = [value(p) for p in inside], [value(p) for p in outside]
            welch = welch_test(a, b, config.confidence_level)
            out.append(
                _Comparison(kind, _label(kind, group, inside), inside, outside, welch, mann_whitney_u(a, b))
            )
        too_small[kind.value] = small
    return out, too_small


def _value_of(kind: LearningKind) -> Any:
    if kind is LearningKind.PLATFORM:
        return lambda p: p.rate
    return lambda p: p.relative


def _label(kind: LearningKind, group: str, inside: list[_Post]) -> str:
    """Topics and hashtags are grouped case-insensitively and shown as first written."""
    if kind is LearningKind.TOPIC:
        return " ".join((inside[0].metrics.topic or group).split())
    if kind is LearningKind.HASHTAG:
        for p in inside:
            for t in p.metrics.hashtags:
                if _tag(t) == group:
                    return "#" + re.sub(r"\W", "", t)
    return group


def _best_platform(comparisons: list[_Comparison], qs: list[float], config: LearningConfig) -> str | None:
    """The platform with the highest mean rate, if it is significantly better than the rest."""
    platforms = [(c, q) for c, q in zip(comparisons, qs, strict=True) if c.kind is LearningKind.PLATFORM]
    if not platforms:
        return None
    top, q = max(platforms, key=lambda cq: cq[0].result.mean_a)
    if q <= config.false_discovery_rate and top.result.difference > 0 and top.consistent:
        return top.group
    return None


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _finite(value: float) -> float | None:
    """JSON (and PostgreSQL's JSONB) has no infinity: a degenerate t is stored as null."""
    return value if math.isfinite(value) else None


def _evidence(c: _Comparison, q: float, m: int, config: LearningConfig, zone: str) -> dict[str, Any]:
    r = c.result
    relative = c.kind is not LearningKind.PLATFORM
    evidence: dict[str, Any] = {
        "group": c.group,
        "direction": "better" if r.difference > 0 else "worse",
        "metric": "engagement rate relative to its platform's mean" if relative else "engagement rate",
        "n": r.n_a, "n_rest": r.n_b, "mean": r.mean_a, "mean_rest": r.mean_b,
        "mean_engagement_rate": _mean([p.rate for p in c.inside]),
        "mean_engagement_rate_rest": _mean([p.rate for p in c.outside]),
        "lift": r.mean_a / r.mean_b - 1.0 if r.mean_b > 0 else None,
        "difference": r.difference,
        "confidence_interval": {
            "method": INTERVAL_NAME, "level": r.confidence_level, "low": r.ci_low, "high": r.ci_high,
        },
        "test": TEST_NAME, "u": c.ranks.u, "z": c.ranks.z, "p_value": c.p_value,
        "probability_of_superiority": c.ranks.superiority,
        "welch_t": _finite(r.t), "welch_df": r.df, "welch_p_value": r.p_value,
        "correction": f"{CORRECTION} over {m} comparisons", "q_value": q,
        "false_discovery_rate": config.false_discovery_rate,
        "min_posts_per_group": config.min_posts_per_group,
    }  # fmt: skip
    if c.kind in (LearningKind.POSTING_HOUR, LearningKind.POSTING_WEEKDAY):
        evidence["timezone"] = zone
    return evidence
