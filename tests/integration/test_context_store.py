"""ContextRepository on both backends: idempotent adds, failure counting, item dedupe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from jobctl.domain.context import NewItem, SourceKind, SourceStatus, content_hash, dedupe_key
from jobctl.domain.schedules import NewSchedule
from jobctl.store.context_repo import ContextRepository
from jobctl.store.schedules_repo import ScheduleRepository

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _item(guid: str | None, link: str | None, text: str) -> NewItem:
    h = content_hash(text)
    return NewItem(link, guid, "t", None, None, text, h, dedupe_key(guid, link, h))


def test_add_is_idempotent_per_org_and_url(engine: Any) -> None:
    repo = ContextRepository(engine)
    first, created = repo.add_source("acme", SourceKind.RSS, "https://e.com/feed", "E", NOW)
    again, created_again = repo.add_source("acme", SourceKind.RSS, "https://e.com/feed", None, NOW)
    other, _ = repo.add_source("globex", SourceKind.RSS, "https://e.com/feed", None, NOW)
    assert created and not created_again and again.id == first.id and other.id != first.id
    assert [s.id for s in repo.list_sources(organization_id="acme")] == [first.id]
    assert repo.delete_source(first.id) and repo.get_source(first.id) is None


def test_unhealthy_at_exactly_five_failures_counted_once_per_job(engine: Any) -> None:
    repo, schedules = ContextRepository(engine), ScheduleRepository(engine)
    src, _ = repo.add_source("acme", SourceKind.WEBSITE, "https://e.com/", None, NOW)
    schedules.insert(
        NewSchedule(
            id="s1",
            name=f"context-sync:{src.id}",
            job_type="ping",
            cron="0 * * * *",
            payload={},
            owner_kind="context-source",
            owner_id=src.id,
        ),
        NOW,
    )
    for attempt in range(3):  # three attempts of one job: one failure
        rec = repo.record_failure(src.id, "job-1", f"boom {attempt}", NOW)
    assert rec is not None and rec.consecutive_failures == 1
    for n in range(2, 5):
        rec = repo.record_failure(src.id, f"job-{n}", "boom", NOW)
    assert rec is not None and rec.consecutive_failures == 4 and rec.status == SourceStatus.ACTIVE
    rec = repo.record_failure(src.id, "job-5", "boom", NOW)
    assert rec is not None and rec.status == SourceStatus.UNHEALTHY and rec.last_error == "boom"
    assert schedules.get("s1").enabled is False  # type: ignore[union-attr]
    later = NOW + timedelta(hours=1)
    rec = repo.set_status(src.id, SourceStatus.ACTIVE, later)
    assert rec is not None and rec.status == SourceStatus.ACTIVE and rec.consecutive_failures == 0
    resumed = schedules.get("s1")
    assert resumed is not None and resumed.enabled and resumed.active_since == later


def test_success_resets_and_revives(engine: Any) -> None:
    repo = ContextRepository(engine)
    src, _ = repo.add_source("acme", SourceKind.RSS, "https://e.com/f", None, NOW)
    for n in range(5):
        repo.record_failure(src.id, f"j{n}", "x", NOW)
    repo.record_success(src.id, NOW, etag='"v1"', last_modified="Wed, 01 Jan 2026 00:00:00 GMT")
    rec = repo.get_source(src.id)
    assert rec is not None and rec.status == SourceStatus.ACTIVE and rec.consecutive_failures == 0
    assert rec.etag == '"v1"' and rec.last_success_at == NOW
    repo.record_success(src.id, NOW, keep_validators=True)
    assert repo.get_source(src.id).etag == '"v1"'  # type: ignore[union-attr]


def test_items_unique_per_source_by_guid_link_hash(engine: Any) -> None:
    repo = ContextRepository(engine)
    src, _ = repo.add_source("acme", SourceKind.RSS, "https://e.com/f", None, NOW)
    batch = [
        _item("g1", "https://e.com/1", "one"),
        _item("g1", "https://e.com/1b", "changed"),
        _item(None, "https://e.com/2", "two"),
        _item(None, None, "three"),
        _item(None, None, "three"),
    ]
    counts = repo.upsert_items(src, batch, NOW)
    assert (counts.new, counts.seen) == (3, 2)
    again = repo.upsert_items(src, batch, NOW)
    assert (again.new, again.seen) == (0, 5)
    many = [_item(f"g{n}", None, f"text {n}") for n in range(1000)]
    assert repo.upsert_items(src, many, NOW).new == 999  # g1 was there already
    items = repo.list_items(source_id=src.id, limit=5000)
    assert len(items) == 1002 and repo.get_item(items[0].id) == items[0]
    assert repo.list_items(organization_id="globex") == []


def test_upsert_keeps_every_field_on_both_backends(engine: Any) -> None:
    """Dates (some missing), NULLs, quotes and non-ASCII text survive the batched insert; NUL
    characters are dropped."""
    repo = ContextRepository(engine)
    src, _ = repo.add_source("acme", SourceKind.RSS, "https://e.com/f", None, NOW)
    when = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    text = 'O\'Brien said "{a,b}" \u2013 caf\xe9 \\ NULL'
    rows = [
        NewItem(
            "https://e.com/1", "g1", "T'1", "Ann", when, text, content_hash(text), dedupe_key("g1", None, "h")
        ),
        NewItem(None, None, None, None, None, "plain", content_hash("plain"), dedupe_key(None, None, "x")),
    ]
    nul = "before\x00after"
    rows.append(NewItem(None, "g3", "a\x00b", None, None, nul, content_hash(nul), dedupe_key("g3", None, "")))
    assert repo.upsert_items(src, rows, NOW).new == 3
    got = {i.guid: i for i in repo.list_items(source_id=src.id)}
    first, second = got["g1"], got[None]
    assert (first.url, first.title, first.author, first.published_at, first.text) == (
        "https://e.com/1",
        "T'1",
        "Ann",
        when,
        text,
    )
    assert (second.url, second.title, second.author, second.published_at) == (None, None, None, None)
    assert first.fetched_at == NOW and first.organization_id == "acme" and first.source_id == src.id
    assert (got["g3"].title, got["g3"].text) == ("ab", "beforeafter")  # NUL: no text column takes it


def test_items_and_success_together_on_both_backends(engine: Any) -> None:
    """upsert_items_succeeded (a feed sync's one statement on PostgreSQL) stores the items,
    resets the failures, keeps the validators; an UNHEALTHY source is revived, its schedules too."""
    repo, schedules = ContextRepository(engine), ScheduleRepository(engine)
    src, _ = repo.add_source("acme", SourceKind.RSS, "https://e.com/f", None, NOW)
    repo.record_failure(src.id, "j0", "x", NOW)
    batch = [_item("g1", None, "one"), _item("g2", None, "two"), _item("g1", None, "one")]
    later = NOW + timedelta(minutes=5)
    counts = repo.upsert_items_succeeded(src, batch, later, etag='"e1"', last_modified="lm1")
    assert (counts.new, counts.seen) == (2, 1)
    rec = repo.get_source(src.id)
    assert rec is not None and rec.consecutive_failures == 0 and rec.last_failed_job_id is None
    assert (rec.etag, rec.last_modified, rec.last_success_at, rec.updated_at) == ('"e1"', "lm1", later, later)
    again = repo.upsert_items_succeeded(src, batch, later, etag=None, last_modified=None)
    assert (again.new, again.seen) == (0, 3)
    assert repo.get_source(src.id).etag is None  # type: ignore[union-attr]
    schedules.insert(
        NewSchedule(
            id="s1",
            name=f"context-sync:{src.id}",
            job_type="ping",
            cron="0 * * * *",
            payload={},
            owner_kind="context-source",
            owner_id=src.id,
        ),
        NOW,
    )
    for n in range(5):
        repo.record_failure(src.id, f"j{n + 1}", "x", NOW)
    assert repo.get_source(src.id).status == SourceStatus.UNHEALTHY  # type: ignore[union-attr]
    assert schedules.get("s1").enabled is False  # type: ignore[union-attr]
    revived = repo.upsert_items_succeeded(
        src, [_item("g3", None, "three")], later, etag='"e2"', last_modified=None
    )
    assert revived.new == 1
    rec = repo.get_source(src.id)
    assert rec is not None and rec.status == SourceStatus.ACTIVE and rec.etag == '"e2"'
    assert schedules.get("s1").enabled is True  # type: ignore[union-attr]
    empty = repo.upsert_items_succeeded(src, [], later, etag='"e3"', last_modified=None)
    assert (empty.new, empty.seen) == (0, 0) and repo.get_source(src.id).etag == '"e3"'  # type: ignore[union-attr]
    assert len(repo.list_items(source_id=src.id)) == 3
