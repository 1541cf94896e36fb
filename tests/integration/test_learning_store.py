"""LearningRepository and recompute() on both backends: a recompute replaces the organisation's
set atomically, other organisations keep theirs, and readers see exactly one batch."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from jobctl.domain.analytics import PostMetrics
from jobctl.domain.learning import BrandLearning, LearningKind, new_batch_id
from jobctl.services.analytics.recompute import recompute
from jobctl.store.learning_repo import LearningRepository

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _metrics(org: str, n: int, seed: int = 1) -> list[PostMetrics]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        tags = ("#Queues",) if i % 2 else ("#Other",)
        rate = rng.lognormvariate(-3.5, 0.4) * (2.0 if i % 2 else 1.0)
        out.append(
            PostMetrics(
                organization_id=org, platform="linkedin", external_post_id=f"{org}-{i}",
                collected_at=NOW, impressions=1000, engagement_rate=rate,
                published_at=NOW - timedelta(hours=i * 7), hashtags=tags, topic="queues",
            )
        )  # fmt: skip
    return out


def test_recompute_stores_the_set_and_replaces_it(engine: Any) -> None:
    repo = LearningRepository(engine)
    assert repo.latest("acme") == []
    first = recompute("acme", _metrics("acme", 80), NOW, repo=repo, timezone="Europe/Paris")
    stored = repo.latest("acme")
    assert [b.id for b in stored] == [b.id for b in first] and stored[0].kind is LearningKind.SUMMARY
    hashtag = next(b for b in stored if b.subject == "#Queues")
    original = next(b for b in first if b.subject == "#Queues")
    assert hashtag.evidence == original.evidence and hashtag.confidence == original.confidence
    assert hashtag.period_start == original.period_start and hashtag.created_at == NOW
    assert hashtag.period_start is not None and hashtag.period_start.tzinfo is not None
    assert [b.kind for b in repo.latest("acme", insights_only=True)] == [b.kind for b in first[1:]]

    recompute("globex", _metrics("globex", 5), NOW, repo=repo)
    later = NOW + timedelta(hours=1)
    second = recompute("acme", _metrics("acme", 12), later, repo=repo)
    assert [b.id for b in repo.latest("acme")] == [b.id for b in second]
    assert second[0].evidence["reason"] == "too_few_posts" and len(second) == 1
    with engine.connect() as conn:  # no history: the old batch is gone
        count = conn.execute(text("SELECT count(*) FROM brand_learnings WHERE organization_id = 'acme'"))
        assert count.scalar_one() == 1
    assert repo.latest("globex")[0].evidence["reason"] == "too_few_posts"


def test_readers_see_only_the_newest_batch(engine: Any) -> None:
    """Two recomputes racing (both inserted, neither deleted the other's rows): one set is read."""
    from jobctl.store.learning_tables import LEARNINGS

    def batch(when: datetime, text_: str) -> list[BrandLearning]:
        b = new_batch_id()
        summary = BrandLearning("acme", LearningKind.SUMMARY, text_, {"posts": 1}, None, None, None, when, b)
        return [summary, replace(summary, kind=LearningKind.HASHTAG, confidence=0.99, id=f"x{text_}")]

    old, new = batch(NOW, "old"), batch(NOW + timedelta(seconds=1), "new")
    from jobctl.store.learning_repo import _row

    with engine.begin() as conn:
        conn.execute(LEARNINGS.insert(), [_row(b) for b in (*old, *new)])
    assert {b.insight for b in LearningRepository(engine).latest("acme")} == {"new"}


def test_replace_refuses_mixed_input(engine: Any) -> None:
    repo = LearningRepository(engine)
    row = BrandLearning("acme", LearningKind.SUMMARY, "s", {}, None, None, None, NOW, new_batch_id())
    with pytest.raises(ValueError):
        repo.replace("globex", [row])
    with pytest.raises(ValueError):
        repo.replace("acme", [row, replace(row, id="other", batch_id=new_batch_id())])
    repo.replace("acme", [])
    assert repo.latest("acme") == []


def test_recompute_reads_posting_times_in_the_organizations_timezone(engine: Any) -> None:
    from jobctl.domain.content import Organization
    from jobctl.store.content_repo import ContentRepository

    content, repo = ContentRepository(engine), LearningRepository(engine)
    assert repo.organization_timezone("acme") is None
    assert recompute("acme", _metrics("acme", 30), NOW, repo=repo)[0].evidence["timezone"] == "UTC"
    content.add_org(Organization(id="acme", name="Acme", timezone="America/New_York"), NOW)
    assert content.get_org("acme").timezone == "America/New_York"  # type: ignore[union-attr]
    assert repo.organization_timezone("acme") == "America/New_York"
    stored_zone = recompute("acme", _metrics("acme", 30), NOW, repo=repo)[0].evidence["timezone"]
    assert stored_zone == "America/New_York"
    explicit = recompute("acme", _metrics("acme", 30), NOW, repo=repo, timezone="Asia/Tokyo")
    assert explicit[0].evidence["timezone"] == "Asia/Tokyo"
