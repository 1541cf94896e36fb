"""ContentRepository on both backends: organisations, a job's drafts replaced on retry, ranking input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from jobctl.domain.content import ContentStatus, NewContent, Organization
from jobctl.domain.context import NewItem, SourceKind, content_hash, dedupe_key
from jobctl.store.content_repo import ContentRepository
from jobctl.store.context_repo import ContextRepository

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _new(platform: str, variation: int, body: str) -> NewContent:
    return NewContent(platform, variation, body, ("#Queues",), ("itm_1",), "offline", "extractive-v1")


def test_orgs_add_is_idempotent_and_update_keeps_every_field(engine: Any) -> None:
    repo = ContentRepository(engine)
    org = Organization(
        id="acme", name="Acme", brand_voice="plain", tone="friendly", brand_colors=("#112233",),
        hashtags_always=("#Acme",), hashtags_never=("#Spam",), limits={"max_hashtags": 2},
    )  # fmt: skip
    first, created = repo.add_org(org, NOW)
    again, created_again = repo.add_org(Organization(id="acme", name="Other"), NOW)
    assert created and not created_again and again.name == "Acme"
    assert first.brand_colors == ("#112233",) and first.limits == {"max_hashtags": 2} and first.known
    later = NOW + timedelta(minutes=1)
    from dataclasses import replace

    updated = repo.update_org(replace(first, tone="bold", hashtags_never=()), later)
    assert updated is not None and updated.tone == "bold" and updated.hashtags_never == ()
    assert updated.hashtags_always == ("#Acme",) and updated.updated_at == later
    assert repo.update_org(Organization(id="nobody", name="x"), later) is None
    assert [o.id for o in repo.list_orgs()] == ["acme"]


def test_a_retried_job_replaces_its_drafts(engine: Any) -> None:
    repo = ContentRepository(engine)
    drafts = [_new("twitter", 0, "a"), _new("twitter", 1, "b")]
    first = repo.replace_job_content("acme", "job-1", "queues", drafts, NOW)
    assert [c.body for c in first] == ["a", "b"] and all(c.status == ContentStatus.DRAFT for c in first)
    second = repo.replace_job_content("acme", "job-1", "queues", [_new("twitter", 0, "c")], NOW)
    assert [c.body for c in repo.list_content(job_id="job-1")] == ["c"]
    assert repo.get_content(first[0].id) is None and repo.get_content(second[0].id) is not None
    other = repo.replace_job_content("acme", "job-2", "queues", [_new("linkedin", 0, "d")], NOW)
    assert [c.id for c in repo.list_content(platform="linkedin")] == [other[0].id]
    assert len(repo.list_content(organization_id="acme", status=ContentStatus.DRAFT)) == 2
    image = repo.add_image(
        "acme",
        content_item_id=other[0].id,
        prompt="a card",
        path="/tmp/x.png",
        size=(1080, 1080),
        provider="offline",
        now=NOW,
    )
    assert repo.list_images("acme") == [image] and image.width == 1080


def test_context_items_for_filters_by_org_and_source(engine: Any) -> None:
    ctx, repo = ContextRepository(engine), ContentRepository(engine)
    a, _ = ctx.add_source("acme", SourceKind.RSS, "https://e.com/a", None, NOW)
    b, _ = ctx.add_source("acme", SourceKind.RSS, "https://e.com/b", None, NOW)
    g, _ = ctx.add_source("globex", SourceKind.RSS, "https://e.com/a", None, NOW)
    for src, text in ((a, "alpha"), (b, "beta"), (g, "gamma")):
        h = content_hash(text)
        item = NewItem(None, text, text, None, None, text, h, dedupe_key(text, None, h))
        ctx.upsert_items(src, [item], NOW)
    assert sorted(i.text for i in repo.context_items_for("acme")) == ["alpha", "beta"]
    assert [i.text for i in repo.context_items_for("acme", [b.id])] == ["beta"]
    assert repo.context_items_for("acme", []) == []
