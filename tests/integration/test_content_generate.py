"""The generate-content service on both backends: sources named in the payload limit the ranking,
an unknown organisation runs with defaults, a retried job replaces its drafts, no context fails
clearly, and a provider's rule-breaking draft is never stored."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from jobctl.domain.content import Organization
from jobctl.domain.context import NewItem, SourceKind, content_hash, dedupe_key
from jobctl.domain.errors import PermanentJobError
from jobctl.domain.payloads import GenerateContentPayload
from jobctl.services.content.compose import Brief, Draft
from jobctl.services.content.generate import generate_content
from jobctl.services.content.offline import OfflineProvider
from jobctl.store.content_repo import ContentRepository
from jobctl.store.context_repo import ContextRepository

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _seed(engine: Any) -> tuple[str, str]:
    ctx = ContextRepository(engine)
    queues, _ = ctx.add_source("acme", SourceKind.RSS, "https://e.com/queues", None, NOW)
    pricing, _ = ctx.add_source("acme", SourceKind.RSS, "https://e.com/pricing", None, NOW)
    for src, title, text in (
        (queues, "Durable queues", "A durable job record survives a broker restart. Retries wait a minute."),
        (pricing, "Pricing", "The team plan includes ten seats. Annual billing saves two months."),
    ):
        h = content_hash(text)
        item = NewItem(f"{src.url}/1", None, title, None, None, text, h, dedupe_key(None, f"{src.url}/1", h))
        ctx.upsert_items(src, [item], NOW)
    return queues.id, pricing.id


def _payload(**fields: Any) -> GenerateContentPayload:
    base = {"organization_id": "acme", "topic": "durable job queues", "platforms": "twitter,instagram"}
    return GenerateContentPayload.model_validate({**base, **fields})


def test_ranked_context_limited_to_the_named_sources(engine: Any) -> None:
    _queues, pricing = _seed(engine)
    repo = ContentRepository(engine)
    result = generate_content(
        repo, _payload(context_source_ids=[pricing]), OfflineProvider(), job_id="j1", now=lambda: NOW
    )
    bodies = [repo.get_content(i).body for i in result.content_item_ids]  # type: ignore[union-attr]
    assert all("ten seats" in b or "two months" in b for b in bodies) and not any(
        "durable" in b for b in bodies
    )
    assert result.organization_known is False  # acme has no row: defaults
    everything = generate_content(repo, _payload(), OfflineProvider(), job_id="j2", now=lambda: NOW)
    first = repo.get_content(everything.content_item_ids[0])
    assert first is not None and "durable job record" in first.body  # BM25: the queues item first
    assert everything.context_items_used[0] != result.context_items_used[0]


def test_a_retried_job_replaces_its_drafts_and_the_org_brand_applies(engine: Any) -> None:
    _seed(engine)
    repo = ContentRepository(engine)
    repo.add_org(
        Organization(id="acme", name="Acme", hashtags_always=("#Acme",), limits={"max_hashtags": 1}), NOW
    )
    payload = _payload(variations_per_platform=3)
    first = generate_content(repo, payload, OfflineProvider(), job_id="j1", now=lambda: NOW)
    again = generate_content(repo, payload, OfflineProvider(), job_id="j1", now=lambda: NOW)
    stored = repo.list_content(job_id="j1")
    assert len(first.items) == len(again.items) == len(stored) == 6
    assert {s.id for s in stored} == set(again.content_item_ids)
    assert all(s.hashtags == ("#Acme",) for s in stored) and again.organization_known


def test_no_context_fails_with_what_to_add(engine: Any) -> None:
    repo = ContentRepository(engine)
    with pytest.raises(PermanentJobError, match="add a source for organization acme"):
        generate_content(repo, _payload(), OfflineProvider(), job_id="j1", now=lambda: NOW)
    _seed(engine)
    with pytest.raises(PermanentJobError, match="from the sources src_none"):
        generate_content(
            repo, _payload(context_source_ids=["src_none"]), OfflineProvider(), job_id="j", now=lambda: NOW
        )


class _Broken:
    name, model = "broken", "b1"

    def drafts(self, brief: Brief, platform: str, count: int) -> list[Draft]:
        return [Draft("x" * 300, (), brief.item_ids)]


def test_a_rule_breaking_draft_is_never_stored(engine: Any) -> None:
    _seed(engine)
    repo = ContentRepository(engine)
    with pytest.raises(PermanentJobError, match="breaks its rules"):
        generate_content(repo, _payload(platforms="twitter"), _Broken(), job_id="j1", now=lambda: NOW)
    assert repo.list_content() == []
