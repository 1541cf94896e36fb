"""Brand learning over synthetic metrics: planted effects are found with the right direction,
no effect means (almost always) nothing claimed, and too few posts means nothing claimed."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from jobctl.domain.analytics import PostMetrics
from jobctl.domain.learning import BrandLearning, LearningConfig, LearningKind
from jobctl.services.analytics.learning import latest_per_post, learn

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
PLATFORMS = ("twitter", "linkedin", "facebook")
TAGS = ("#Queues", "#Redis", "#Ops", "#Python", "#Cloud", "#Jobs")
TOPICS = ("release notes", "tutorials", "hiring")
Effect = Callable[[PostMetrics], float]


def synthetic(
    seed: int, n: int = 240, effect: Effect | None = None, org: str = "acme", sigma: float = 0.6
) -> list[PostMetrics]:
    """`n` posts over 90 days, lognormal engagement rates (median ~3%), multiplied by `effect`."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        post = PostMetrics(
            organization_id=org, platform=rng.choice(PLATFORMS), external_post_id=f"p{i}",
            collected_at=NOW, impressions=1000,
            published_at=NOW - timedelta(minutes=rng.randrange(60 * 24 * 90)),
            topic=rng.choice(TOPICS), hashtags=tuple(rng.sample(TAGS, 2)),
        )  # fmt: skip
        rate = rng.lognormvariate(-3.5, sigma) * (effect(post) if effect else 1.0)
        out.append(_with_rate(post, rate))
    return out


def _with_rate(post: PostMetrics, rate: float | None) -> PostMetrics:
    return replace(post, engagement_rate=rate)


def insights(learnings: list[BrandLearning]) -> list[BrandLearning]:
    assert learnings[0].kind is LearningKind.SUMMARY
    assert all(b.kind is not LearningKind.SUMMARY for b in learnings[1:])
    return learnings[1:]


def _find(found: list[BrandLearning], kind: LearningKind, group: str) -> BrandLearning:
    matches = [b for b in found if b.kind is kind and b.subject == group]
    assert matches, [(b.kind, b.subject) for b in found]
    return matches[0]


def test_a_better_and_a_worse_hashtag_are_found_with_their_direction() -> None:
    def effect(p: PostMetrics) -> float:
        return (1.7 if "#Queues" in p.hashtags else 1.0) * (0.55 if "#Cloud" in p.hashtags else 1.0)

    learnings = learn("acme", synthetic(1, effect=effect), NOW)
    found = insights(learnings)
    good, bad = _find(found, LearningKind.HASHTAG, "#Queues"), _find(found, LearningKind.HASHTAG, "#Cloud")
    assert good.direction == "better" and bad.direction == "worse"
    assert {(b.kind, b.subject) for b in found} == {
        (LearningKind.HASHTAG, "#Queues"),
        (LearningKind.HASHTAG, "#Cloud"),
    }
    e = good.evidence
    assert e["n"] + e["n_rest"] == 240 and e["n"] >= 10 and e["lift"] > 0.3
    assert e["confidence_interval"]["low"] > 0 and e["confidence_interval"]["level"] == 0.95
    assert e["p_value"] <= e["q_value"] <= 0.05 and good.confidence == pytest.approx(
        1 - e["q_value"], abs=1e-6
    )
    assert "Mann-Whitney" in e["test"] and "Benjamini-Hochberg" in e["correction"]
    assert "#Queues" in good.insight and f"n={e['n']} vs {e['n_rest']}" in good.insight
    assert "more engagement" in good.insight and "less engagement" in bad.insight
    assert learnings[0].evidence["findings"] == 2 and learnings[0].evidence["posts"] == 240
    json.dumps([b.to_json() for b in learnings], allow_nan=False)  # storable as JSON / JSONB


def test_the_best_platform_is_named() -> None:
    learnings = learn("acme", synthetic(2, effect=lambda p: 1.8 if p.platform == "linkedin" else 1.0), NOW)
    best = _find(insights(learnings), LearningKind.PLATFORM, "linkedin")
    assert best.direction == "better" and best.insight.startswith("linkedin is your best platform")
    assert best.evidence["metric"] == "engagement rate"
    assert best.evidence["mean_engagement_rate"] > best.evidence["mean_engagement_rate_rest"]


def test_posting_hours_are_in_the_organizations_timezone() -> None:
    paris = ZoneInfo("Europe/Paris")

    def effect(p: PostMetrics) -> float:
        assert p.published_at is not None
        return 2.0 if 9 <= p.published_at.astimezone(paris).hour < 12 else 1.0

    metrics = synthetic(3, n=320, effect=effect)
    found = insights(learn("acme", metrics, NOW, timezone="Europe/Paris"))
    hour = _find(found, LearningKind.POSTING_HOUR, "09:00-12:00")
    assert hour.direction == "better" and hour.evidence["timezone"] == "Europe/Paris"
    assert "(Europe/Paris)" in hour.insight and hour.insight.startswith("best posting time")
    in_utc = insights(learn("acme", metrics, NOW))  # 09-12 Paris is 08-11 UTC in winter
    assert all(b.evidence.get("timezone") in (None, "UTC") for b in in_utc)
    assert not any(b.kind is LearningKind.POSTING_HOUR and b.subject == "09:00-12:00" for b in in_utc)


def test_weekday_and_topic_effects() -> None:
    def effect(p: PostMetrics) -> float:
        assert p.published_at is not None
        weekday = 1.9 if p.published_at.weekday() == 1 else 1.0
        return weekday * (0.5 if p.topic == "hiring" else 1.0)

    found = insights(learn("acme", synthetic(4, n=320, effect=effect), NOW))
    assert _find(found, LearningKind.POSTING_WEEKDAY, "Tuesday").direction == "better"
    topic = _find(found, LearningKind.TOPIC, "hiring")
    assert topic.direction == "worse" and "'hiring'" in topic.insight
    assert topic.evidence["metric"] == "engagement rate relative to its platform's mean"


def test_no_effect_claims_nothing_at_about_the_false_discovery_rate() -> None:
    seeds = 120
    claimed = sum(1 for s in range(seeds) if len(learn("acme", synthetic(1000 + s), NOW)) > 1)
    # Measured 4.7% over 300 seeds (a recompute tests ~27 groups): the FDR is across all of them.
    assert claimed / seeds <= 0.10
    quiet = learn("acme", synthetic(5), NOW)
    if len(quiet) == 1:
        assert quiet[0].evidence["reason"] == "no_significant_difference"
        assert "nothing claimed" in quiet[0].insight and quiet[0].evidence["comparisons"] > 20


def test_too_few_posts_claim_nothing_even_with_a_huge_effect() -> None:
    metrics = synthetic(6, n=19, effect=lambda p: 5.0 if "#Queues" in p.hashtags else 1.0)
    [summary] = learn("acme", metrics, NOW)
    assert summary.kind is LearningKind.SUMMARY and summary.confidence is None
    assert summary.evidence["reason"] == "too_few_posts" and summary.evidence["posts"] == 19
    assert "too few posts" in summary.insight and "at least 20" in summary.insight
    assert summary.period_start is not None and summary.period_end is not None


def test_a_group_below_the_minimum_is_not_compared() -> None:
    rare = {f"p{i}" for i in range(9)}
    metrics = synthetic(7, effect=lambda p: 6.0 if p.external_post_id in rare else 1.0)
    metrics = [
        replace(m, hashtags=(*m.hashtags, "#Rare")) if m.external_post_id in rare else m for m in metrics
    ]
    learnings = learn("acme", metrics, NOW)
    assert not any(b.subject == "#Rare" for b in learnings)
    assert learnings[0].evidence["groups_too_small"]["hashtag"] >= 1
    # the same 9 posts are enough when the minimum is lowered to 5
    lowered = learn("acme", metrics, NOW, config=LearningConfig(min_posts_per_group=5, min_posts=10))
    assert any(b.subject == "#Rare" and b.direction == "better" for b in lowered)


def test_no_metrics_and_no_rates_say_so() -> None:
    [empty] = learn("acme", [], NOW)
    assert empty.evidence["reason"] == "no_metrics" and empty.period_start is None
    unrated = [_with_rate(m, None) for m in synthetic(8, n=50)]
    assert learn("acme", unrated, NOW)[0].evidence["reason"] == "no_metrics"
    others = learn("acme", synthetic(9, org="globex"), NOW)
    assert others[0].evidence["reason"] == "no_metrics"  # another organisation's posts are not used


def test_only_the_latest_collection_of_each_post_counts() -> None:
    base = synthetic(10, n=60)
    early = [
        PostMetrics(**{**m.__dict__, "collected_at": NOW - timedelta(days=1), "engagement_rate": 0.9})
        for m in base
    ]
    assert latest_per_post([*early, *base]) == sorted(
        base, key=lambda m: (m.published_at, m.external_post_id)
    )
    assert learn("acme", [*early, *base], NOW)[0].evidence["posts"] == 60


def test_unknown_timezone_falls_back_to_utc_and_says_so() -> None:
    summary = learn("acme", synthetic(11, n=40), NOW, timezone="Mars/Olympus")[0]
    assert summary.evidence["timezone"] == "UTC" and "Mars/Olympus" in summary.evidence["timezone_note"]


def test_config_is_checked() -> None:
    with pytest.raises(ValueError):
        LearningConfig(min_posts_per_group=1)
    with pytest.raises(ValueError):
        LearningConfig(hour_window=5)
