"""ContextAPI on SQLite and PostgreSQL with the real Redis: sources and their default schedule,
status changes that pause and resume it, syncs enqueued as jobs, items, and preview against a
real HTTP server on 127.0.0.1 (private addresses allowed only where the test says so)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from jobctl.api import JobctlAPI, ScheduleAPI, upgrade_database
from jobctl.api.context import ContextAPI, preview
from jobctl.domain.context import (
    ItemNotFoundError,
    NewItem,
    PreviewFailedError,
    SourceInputError,
    SourceNotFoundError,
    SourceStatus,
    content_hash,
    dedupe_key,
)
from jobctl.domain.errors import ExitCode, InvalidTransitionError
from jobctl.settings import load_settings

ARTICLE = """<html><head><title>Queues at scale</title><meta name="author" content="Ann Writer"></head>
<body><nav><a href="/">Home</a> <a href="/about">About us</a></nav>
<article><h1>Queues at scale</h1>
<p>Running background jobs reliably needs a durable record of every job, apart from the broker.</p>
<p>When a worker dies mid-job, the job must run again quickly on another worker, spending one attempt.</p>
<p>Operators want to see every attempt, its worker and its error, in one place, and act in bulk.</p>
</article><footer>Copyright 2026. All rights reserved.</footer></body></html>"""

FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Test blog</title><link>/</link>
<item><title>Post one</title><link>/one</link><guid>p1</guid><description>First.</description></item>
<item><title>Post two</title><link>/two</link><guid>p2</guid><description>Second.</description></item>
</channel></rss>"""

HITS: list[str] = []


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        HITS.append(self.path)
        routes = {
            "/post": (200, "text/html; charset=utf-8", ARTICLE),
            "/feed": (200, "application/rss+xml", FEED),
            "/broken": (500, "text/plain", "down"),
            "/notes.xml": (200, "text/xml", "<notes><note>Call the printer people on Monday.</note></notes>"),
        }
        status, ctype, body = routes.get(self.path, (404, "text/plain", "no"))
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def make(env: dict[str, str]) -> Iterator[Any]:
    """ContextAPI factory over the test's database and Redis, with extra environment."""
    made: list[JobctlAPI] = []

    def build(**extra: str) -> ContextAPI:
        settings = load_settings(env={**env, **extra})
        if not made:
            upgrade_database(settings)
        api = JobctlAPI(settings)
        made.append(api)
        return ContextAPI(api)

    yield build
    for api in made:
        api.close()


def _schedule(ctx: ContextAPI, source_id: str) -> Any:
    return ScheduleAPI(ctx.api).repo.get_by_name(f"context-sync:{source_id}")


def test_add_is_idempotent_and_installs_a_staggered_schedule(make: Any) -> None:
    ctx = make()
    first = ctx.add("rss", " https://example.com/feed.xml ", "acme", name="Example")
    again = ctx.add("RSS", "https://example.com/feed.xml", "acme")
    other = ctx.add("rss", "https://example.com/feed.xml", "globex")
    assert first.created and not again.created and other.created
    assert again.source.id == first.source.id != other.source.id
    assert again.source.name == "Example"  # the second add changes nothing
    sched = _schedule(ctx, first.source.id)
    assert sched is not None and sched.enabled and sched.job_type == "sync-rss"
    assert sched.payload["source_id"] == first.source.id and sched.organization_id == "acme"
    minute, hour = sched.cron.split()[:2]
    assert hour.endswith("-23/6") and 0 <= int(hour.split("-")[0]) < 6 and 0 <= int(minute) < 60
    assert [s.id for s in ctx.list_sources(organization_id="acme")] == [first.source.id]
    website = ctx.add("website", "https://example.com/post", "acme")
    assert _schedule(ctx, website.source.id).job_type == "scrape-website"


@pytest.mark.parametrize(
    ("kind", "target", "org", "says"),
    [
        ("blog", "https://e.com/", "acme", "unknown source kind"),
        ("rss", "https://e.com/", "  ", "--org"),
        ("rss", "e.com/feed", "acme", "http:// or https://"),
        ("website", "ftp://e.com/x", "acme", "http:// or https://"),
        ("rss", "https:///nohost", "acme", "host"),
        ("rss", "https://user:pw@e.com/feed", "acme", "credentials"),
        ("website", "http://127.1/", "acme", "loopback"),
        ("website", "http://[::ffff:127.0.0.1]/", "acme", "loopback"),
        ("website", "http://169.254.169.254/latest", "acme", "metadata"),
        ("document", "/etc/passwd", "acme", "documents root"),
    ],
)
def test_bad_sources_are_refused(make: Any, kind: str, target: str, org: str, says: str) -> None:
    ctx = make()
    with pytest.raises(SourceInputError) as caught:
        ctx.add(kind, target, org)
    assert says in caught.value.message
    assert caught.value.exit_code == ExitCode.INVALID_INPUT
    assert "pw" not in caught.value.message
    assert ctx.list_sources() == []


def test_private_literal_allowed_by_the_setting(make: Any) -> None:
    ctx = make(JOBCTL_FETCH_ALLOW_PRIVATE="1")
    assert ctx.add("website", "http://127.1:8080/", "acme").created


def test_document_paths_stay_under_the_root(make: Any, tmp_path: Path) -> None:
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    ctx = make(JOBCTL_DOCUMENTS_ROOT=str(root))
    inside = ctx.add("document", "sub/guide.pdf", "acme").source
    assert inside.url == str((root / "sub" / "guide.pdf").resolve())
    assert _schedule(ctx, inside.id).job_type == "process-document"
    assert ctx.add("document", str(root / "sub" / "guide.pdf"), "acme").source.id == inside.id
    for outside in ("../secret.txt", str(tmp_path / "other.pdf"), "sub/../../x.pdf"):
        with pytest.raises(SourceInputError, match="outside the documents root"):
            ctx.add("document", outside, "acme")
    assert ctx.add("document", "https://e.com/guide.pdf", "acme").created


def test_status_changes_pause_and_resume_the_schedule(make: Any) -> None:
    ctx = make()
    src = ctx.add("rss", "https://example.com/feed.xml", "acme").source
    assert ctx.set_status(src.id, SourceStatus.DISABLED).status == SourceStatus.DISABLED
    assert not _schedule(ctx, src.id).enabled
    assert [s.id for s in ctx.list_sources(status="disabled")] == [src.id]
    assert ctx.list_sources(status="ACTIVE") == []
    with pytest.raises(InvalidTransitionError, match="DISABLED"):
        ctx.sync(src.id)
    with pytest.raises(SourceInputError, match="unknown source status"):
        ctx.list_sources(status="sleepy")

    now = datetime.now(UTC)
    ctx.set_status(src.id, SourceStatus.ACTIVE)
    for n in range(5):
        ctx.repo.record_failure(src.id, f"job-{n}", "HTTP 500", now)
    sick = ctx.get(src.id)
    assert sick.status == SourceStatus.UNHEALTHY and sick.consecutive_failures == 5
    assert not _schedule(ctx, src.id).enabled
    detail = ctx.show(src.id)
    assert detail.to_json()["schedules"][0]["enabled"] is False
    back = ctx.set_status(src.id, SourceStatus.ACTIVE)
    assert back.status == SourceStatus.ACTIVE and back.consecutive_failures == 0
    assert _schedule(ctx, src.id).enabled


def test_enable_recreates_a_schedule_removed_by_hand(make: Any) -> None:
    ctx = make()
    src = ctx.add("website", "https://example.com/", "acme").source
    ScheduleAPI(ctx.api).remove(f"context-sync:{src.id}")
    assert ctx.show(src.id).schedules == []
    ctx.set_status(src.id, SourceStatus.ACTIVE)
    assert _schedule(ctx, src.id).enabled


def test_unknown_ids(make: Any) -> None:
    ctx = make()
    for call in (ctx.get, ctx.show, ctx.remove, ctx.sync, lambda i: ctx.set_status(i, SourceStatus.ACTIVE)):
        with pytest.raises(SourceNotFoundError) as caught:
            call("src_nope")
        assert caught.value.exit_code == ExitCode.NOT_FOUND
    with pytest.raises(ItemNotFoundError):
        ctx.item("itm_nope")


def test_sync_enqueues_the_kinds_job(make: Any) -> None:
    ctx = make()
    src = ctx.add("rss", "https://example.com/feed.xml", "acme").source
    job = ctx.sync(src.id)
    assert (job.type, job.queue, job.organization_id) == ("sync-rss", "context-scraping", "acme")
    assert job.payload["source_id"] == src.id
    assert ctx.api.get_job(job.id).status.value == "PENDING"


def _items(n: int, prefix: str) -> list[NewItem]:
    out = []
    for i in range(n):
        text = f"{prefix} item number {i}"
        h = content_hash(text)
        out.append(
            NewItem(
                None,
                f"{prefix}-{i}",
                f"{prefix} {i}",
                None,
                None,
                text,
                h,
                dedupe_key(f"{prefix}-{i}", None, h),
            )
        )
    return out


def test_items_filters_and_remove(make: Any) -> None:
    ctx = make()
    a = ctx.add("rss", "https://a.example/feed", "acme").source
    b = ctx.add("rss", "https://b.example/feed", "globex").source
    old = datetime.now(UTC) - timedelta(days=3)
    ctx.repo.upsert_items(a, _items(3, "a"), old)
    ctx.repo.upsert_items(b, _items(2, "b"), datetime.now(UTC))
    assert len(ctx.items()) == 5
    assert {i.source_id for i in ctx.items(organization_id="acme")} == {a.id}
    assert len(ctx.items(source_id=b.id)) == 2
    assert {i.source_id for i in ctx.items(since=datetime.now(UTC) - timedelta(days=1))} == {b.id}
    assert len(ctx.items(limit=2)) == 2
    one = ctx.items(source_id=a.id)[0]
    assert ctx.item(one.id) == one
    assert ctx.show(a.id).item_count == 3

    removed, schedules = ctx.remove(a.id)
    assert removed.id == a.id and schedules == [f"context-sync:{a.id}"]
    assert _schedule(ctx, a.id) is None
    assert ctx.items(source_id=a.id) == [] and len(ctx.items()) == 2
    with pytest.raises(ItemNotFoundError):
        ctx.item(one.id)


def test_preview_article_and_feed_store_nothing(make: Any, server: str) -> None:
    ctx = make(JOBCTL_FETCH_ALLOW_PRIVATE="1")
    page = preview(ctx.api, f"{server}/post", "website")
    assert page["title"] == "Queues at scale" and page["author"] == "Ann Writer"
    assert "durable record of every job" in page["text"] and "About us" not in page["text"]
    feed = preview(ctx.api, f"{server}/feed", "rss")
    assert feed["title"] == "Test blog"
    assert [(i["title"], i["link"]) for i in feed["items"]] == [
        ("Post one", f"{server}/one"),  # relative links resolved against the feed's URL
        ("Post two", f"{server}/two"),
    ]
    assert feed["text"] == "- Post one\n- Post two"
    auto = preview(ctx.api, f"{server}/feed")  # no kind: the content type says feed
    assert auto["kind"] == "rss" and auto["items"] == feed["items"]
    assert preview(ctx.api, f"{server}/post")["kind"] == "website"
    xml = preview(ctx.api, f"{server}/notes.xml")  # XML that is no feed: shown as a page
    assert xml["kind"] == "website" and "printer people" in xml["text"]
    assert ctx.list_sources() == [] and ctx.items() == []


def test_preview_errors(make: Any, server: str) -> None:
    port = server.rsplit(":", 1)[1]
    strict = make()
    HITS.clear()
    for url in (f"http://127.1:{port}/post", f"http://[::ffff:127.0.0.1]:{port}/post", f"{server}/post"):
        with pytest.raises(SourceInputError, match=r"loopback.*JOBCTL_FETCH_ALLOW_PRIVATE"):
            preview(strict.api, url, "website")
    assert HITS == []  # refused before any request
    with pytest.raises(SourceInputError, match="only http and https"):
        preview(strict.api, "file:///etc/passwd", "website")
    with pytest.raises(SourceInputError, match="--kind"):
        preview(strict.api, f"{server}/post", "pdf")

    local = make(JOBCTL_FETCH_ALLOW_PRIVATE="1")
    for url, kind, says in (
        (f"{server}/broken", "website", "HTTP 500"),
        (f"{server}/missing", "website", "HTTP 404"),
        (f"{server}/post", "rss", "feed"),
    ):
        with pytest.raises(PreviewFailedError, match=says) as caught:
            preview(local.api, url, kind)
        assert caught.value.exit_code == ExitCode.FETCH_FAILED
