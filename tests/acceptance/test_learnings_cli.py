"""`jobctl learnings --org ORG [--json]` through the real command, rows seeded by recompute()
into the database the CLI reads (each backend)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cli_support import Cli

from jobctl.domain.analytics import PostMetrics
from jobctl.services.analytics.recompute import recompute
from jobctl.store.learning_repo import LearningRepository

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _metrics(n: int) -> list[PostMetrics]:
    rng = random.Random(3)
    out = []
    for i in range(n):
        platform = ("linkedin", "twitter")[i % 2]
        rate = rng.lognormvariate(-3.5, 0.4) * (2.2 if platform == "linkedin" else 1.0)
        out.append(
            PostMetrics(
                organization_id="acme", platform=platform, external_post_id=f"p{i}", collected_at=NOW,
                impressions=1000, engagement_rate=rate, published_at=NOW - timedelta(hours=5 * i),
                hashtags=("#Queues",),
            )
        )  # fmt: skip
    return out


@pytest.fixture
def repo(cli: Cli) -> Iterator[LearningRepository]:
    from jobctl.store.engine import create_store_engine

    engine = create_store_engine(cli.env["JOBCTL_DATABASE_URL"])
    try:
        yield LearningRepository(engine)
    finally:
        engine.dispose()


def test_learnings_show_insights_with_sample_sizes(cli: Cli, repo: LearningRepository) -> None:
    stored = recompute("acme", _metrics(60), NOW, repo=repo)
    assert len(stored) >= 2
    out = cli.run("learnings", "--org", "acme")
    assert out.returncode == 0, out.stderr
    assert "linkedin is your best platform" in out.stdout and "30 vs 30" in out.stdout
    assert "Mann-Whitney" in out.stdout and "CONFIDENCE" in out.stdout
    assert "recomputed 2026-03-01 12:00 UTC" in out.stderr and "finding(s) from" in out.stderr

    doc: Any = cli.json("learnings", "--org", "acme", "--json")
    assert doc["organization_id"] == "acme" and doc["reason"] is None
    assert doc["computed_at"] == NOW.isoformat() and doc["summary"]["posts"] == 60
    [best] = [
        i for i in doc["insights"] if i["kind"] == "platform" and i["evidence"]["direction"] == "better"
    ]
    assert best["evidence"]["group"] == "linkedin" and best["evidence"]["n"] == 30
    assert best["evidence"]["n_rest"] == 30 and 0.95 <= best["confidence"] <= 1
    assert best["evidence"]["p_value"] < 0.05 and best["period_start"] is not None


def test_learnings_say_why_there_are_none(cli: Cli, repo: LearningRepository) -> None:
    never = cli.run("learnings", "--org", "acme")
    assert never.returncode == 0 and never.stdout == ""
    assert "no brand learning for acme yet" in never.stderr and "sync-analytics" in never.stderr
    assert cli.json("learnings", "--org", "acme", "--json")["reason"] == "not_computed"

    recompute("acme", _metrics(8), NOW, repo=repo)
    few = cli.run("learnings", "--org", "acme")
    assert few.returncode == 0 and "too few posts to learn from: 8" in few.stderr
    doc = cli.json("learnings", "--org", "acme", "--json")
    assert doc["reason"] == "too_few_posts" and doc["insights"] == [] and doc["summary"]["posts"] == 8

    recompute("acme", [], NOW, repo=repo)
    assert cli.json("learnings", "--org", "acme", "--json")["reason"] == "no_metrics"
    bad = cli.run("learnings", "--org", "not valid!")
    assert bad.returncode == 3 and bad.stderr.startswith("error: invalid organization id")
