"""`jobctl learnings --org ORG [--json]` through the real command, rows seeded by recompute()
into the database the CLI reads (each backend)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
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


@pytest.mark.slow
def test_generate_content_through_a_worker_follows_the_learnings(
    cli: Cli, repo: LearningRepository, tmp_path: Path
) -> None:
    """The learning loop end to end: stored insights -> a real worker's generate-content job."""
    from jobctl.domain.context import NewItem, SourceKind, content_hash, dedupe_key
    from jobctl.domain.learning import BrandLearning, LearningKind, new_batch_id
    from jobctl.store.context_repo import ContextRepository

    text = "A durable job record survives a broker restart. Retries wait a minute before the next attempt."
    ctx = ContextRepository(repo.engine)
    src, _ = ctx.add_source("acme", SourceKind.RSS, "https://e.com/feed", None, NOW)
    h = content_hash(text)
    item = NewItem("https://e.com/1", None, "Queues", None, None, text, h, dedupe_key(None, "x", h))
    ctx.upsert_items(src, [item], NOW)
    batch = new_batch_id()

    def row(kind: LearningKind, group: str, direction: str, **extra: str) -> BrandLearning:
        evidence = {"group": group, "direction": direction, "n": 30, "n_rest": 90, **extra}
        return BrandLearning("acme", kind, f"{group} {direction}", evidence, 0.99, NOW, NOW, NOW, batch)

    summary = BrandLearning("acme", LearningKind.SUMMARY, "3 finding(s)", {}, None, NOW, NOW, NOW, batch)
    repo.replace(
        "acme",
        [
            summary,
            row(LearningKind.HASHTAG, "#Restart", "better"),
            row(LearningKind.HASHTAG, "#Durable", "worse"),
            row(LearningKind.POSTING_HOUR, "09:00-12:00", "better", timezone="UTC"),
        ],
    )
    cli.start_worker("content-generation", log=tmp_path / "worker.log", extra=("--concurrency", "1"))
    out = cli.run(
        "enqueue", "generate-content", "topic=durable job queues", "platforms=twitter", "--org", "acme",
        "--wait", "--json", timeout=120,
    )  # fmt: skip
    job = json.loads(out.stdout)
    assert job["status"] == "COMPLETED", job
    learned = job["result"]["learnings"]
    assert learned["preferred_hashtags_used"] == ["#Restart"] and learned["avoided_hashtags"] == ["#Durable"]
    assert learned["posting_time_hint"] == "best posting time from past posts: 09:00-12:00 (UTC)"
    body = cli.json("content", "show", job["result"]["content_item_ids"][0], "--json")["body"]
    assert "#Restart" in body and "#Durable" not in body


def test_orgs_timezone_is_set_checked_and_cleared(cli: Cli) -> None:
    added = cli.json("orgs", "add", "acme", "--timezone", "Europe/Paris", "--json")
    assert added["organization"]["timezone"] == "Europe/Paris"
    shown = cli.run("orgs", "show", "acme")
    assert "timezone: Europe/Paris" in shown.stdout
    bad = cli.run("orgs", "set", "acme", "--timezone", "Mars/Olympus")
    assert bad.returncode == 3 and "unknown timezone 'Mars/Olympus'" in bad.stderr
    assert cli.json("orgs", "set", "acme", "--timezone", "", "--json")["timezone"] is None
