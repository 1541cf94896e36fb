"""The learning loop on both backends: generate-content reads the organisation's stored insights,
prefers its better hashtags (only those the context speaks of), avoids its worse ones, and
reports the best posting time in the result, without adding a word to the post's text."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jobctl.domain.content import Organization
from jobctl.domain.context import NewItem, SourceKind, content_hash, dedupe_key
from jobctl.domain.learning import BrandLearning, LearningKind, new_batch_id
from jobctl.domain.payloads import GenerateContentPayload
from jobctl.domain.platform_rules import hashtags_in
from jobctl.services.content.generate import generate_content
from jobctl.services.content.offline import OfflineProvider
from jobctl.store.content_repo import ContentRepository
from jobctl.store.context_repo import ContextRepository
from jobctl.store.learning_repo import LearningRepository

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TEXT = "A durable job record survives a broker restart. Retries wait a minute before the next attempt."


def _seed(engine: Any) -> None:
    ctx = ContextRepository(engine)
    src, _ = ctx.add_source("acme", SourceKind.RSS, "https://e.com/queues", None, NOW)
    h = content_hash(TEXT)
    item = NewItem(
        "https://e.com/q/1",
        None,
        "Durable queues",
        None,
        None,
        TEXT,
        h,
        dedupe_key(None, "https://e.com/q/1", h),
    )
    ctx.upsert_items(src, [item], NOW)


def _learnings(engine: Any) -> None:
    batch = new_batch_id()

    def row(kind: LearningKind, group: str, direction: str, confidence: float, **extra: Any) -> BrandLearning:
        evidence = {"group": group, "direction": direction, "n": 30, "n_rest": 90, **extra}
        text = f"{group} does {direction} (n=30 vs 90)"
        return BrandLearning("acme", kind, text, evidence, confidence, NOW, NOW, NOW, batch)

    summary = BrandLearning(
        "acme", LearningKind.SUMMARY, "4 finding(s)", {"posts": 120}, None, NOW, NOW, NOW, batch
    )
    LearningRepository(engine).replace(
        "acme",
        [
            summary,
            row(LearningKind.HASHTAG, "#Restart", "better", 0.99),  # its word is in the context
            row(LearningKind.HASHTAG, "#Kubernetes", "better", 0.999),  # not in the context
            row(LearningKind.HASHTAG, "#Durable", "worse", 0.98),  # the topic's own word
            row(LearningKind.POSTING_WEEKDAY, "Tuesday", "better", 0.97, timezone="Europe/Paris"),
        ],
    )


def _generate(engine: Any, job_id: str) -> tuple[Any, list[str]]:
    repo = ContentRepository(engine)
    payload = GenerateContentPayload.model_validate(
        {"organization_id": "acme", "topic": "durable job queues", "platforms": "twitter,linkedin"}
    )
    learnings = LearningRepository(engine).latest("acme", insights_only=True)  # as the processor reads them
    result = generate_content(
        repo, payload, OfflineProvider(), job_id=job_id, now=lambda: NOW, learnings=learnings
    )
    return result, [repo.get_content(i).body for i in result.content_item_ids]  # type: ignore[union-attr]


def test_generation_follows_the_stored_learnings(engine: Any) -> None:
    _seed(engine)
    before, plain = _generate(engine, "j0")
    assert before.learnings is None and before.to_json()["learnings"] is None
    assert any("#Durable" in hashtags_in(b) for b in plain)  # what it picks with no learning
    _learnings(engine)
    result, bodies = _generate(engine, "j1")
    for body in bodies:
        tags = hashtags_in(body)
        assert tags[0] == "#Restart" and "#Durable" not in tags and "#Kubernetes" not in tags
        words = body.replace("#", "")
        assert "Kubernetes" not in words and "Tuesday" not in words  # nothing the context lacks
    learned = result.to_json()["learnings"]
    assert learned["insights"] == 4 and learned["preferred_hashtags"] == ["#Kubernetes", "#Restart"]
    assert learned["preferred_hashtags_used"] == ["#Restart"] and learned["avoided_hashtags"] == ["#Durable"]
    assert learned["posting_time_hint"] == "best posting time from past posts: Tuesday (Europe/Paris)"
    assert learned["computed_at"] == NOW.isoformat()


def test_an_always_hashtag_beats_a_worse_one(engine: Any) -> None:
    _seed(engine)
    _learnings(engine)
    ContentRepository(engine).add_org(
        Organization(id="acme", name="Acme", hashtags_always=("#Durable",)), NOW
    )
    _result, bodies = _generate(engine, "j2")
    assert all(hashtags_in(b)[0] == "#Durable" for b in bodies)
