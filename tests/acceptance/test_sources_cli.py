"""`jobctl sources …` and `jobctl items …` through the real CLI, a real worker on context-scraping,
the real Redis and both databases, against pages and a feed served on 127.0.0.1: add (idempotent),
list/show, sync --wait, items, preview, a source failing 5 syncs turning UNHEALTHY with its
schedule paused, `sources enable` bringing it back, and bad input as one line and its exit code."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cli_support import Cli

from jobctl.domain.errors import ExitCode

ARTICLE = """<html><head><title>Queues at scale</title><meta name="author" content="Ann Writer"></head>
<body><nav><a href="/">Home</a> <a href="/about.html">About us</a> <a href="/contact.html">Contact</a></nav>
<div class="ad">Buy our product now! Limited offer!</div>
<article><h1>Queues at scale</h1>
<p>Running background jobs reliably needs a durable record of every job, apart from the broker.</p>
<p>When a worker dies mid-job, the job must run again quickly on another worker, spending one attempt.</p>
<p>Operators want to see every attempt, its worker and its error, in one place, and act in bulk.</p>
</article><footer>Copyright 2026 Test blog. All rights reserved.</footer></body></html>"""

FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Test blog</title><link>/</link>
<item><title>Post one</title><link>/post.html</link><guid>p1</guid>
<description>&lt;p&gt;The first post, about durable queues.&lt;/p&gt;</description></item>
<item><title>Post two</title><link>/two.html</link><guid>p2</guid>
<description>Second post.</description></item>
</channel></rss>"""

pytestmark = pytest.mark.slow
# The CLI's own --wait gives up before the subprocess timeout, so a slow machine (a worker that
# takes long to start) fails with the job's state on stdout rather than a TimeoutExpired.
WAIT = ("--timeout", "150")


@pytest.fixture
def site() -> Iterator[tuple[str, list[str]]]:
    """/post.html (an article), /feed.xml (RSS 2.0), /broken (always HTTP 500); `hits` lists paths."""
    hits: list[str] = []
    routes = {
        "/post.html": (200, "text/html; charset=utf-8", ARTICLE),
        "/feed.xml": (200, "application/rss+xml", FEED),
        "/broken": (500, "text/plain", "internal error"),
    }

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            hits.append(self.path)
            status, ctype, body = routes.get(self.path, (404, "text/plain", "not found"))
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", hits
    finally:
        httpd.shutdown()
        httpd.server_close()


def _ok(cli: Cli, *args: str, timeout: float = 60) -> str:
    out = cli.run(*args, timeout=timeout)
    assert out.returncode == 0, (args, out.returncode, out.stderr)
    return out.stdout


def test_add_list_show_sync_and_items(cli: Cli, site: tuple[str, list[str]], tmp_path: Path) -> None:
    base, _hits = site
    cli.env["JOBCTL_FETCH_ALLOW_PRIVATE"] = "1"
    feed_id = _ok(cli, "sources", "add", "rss", f"{base}/feed.xml", "--org", "acme", "--name", "Blog").strip()
    assert feed_id.startswith("src_")
    again = cli.run("sources", "add", "rss", f"{base}/feed.xml", "--org", "acme")
    assert (again.returncode, again.stdout.strip()) == (0, feed_id)  # the existing id, exit 0
    assert "already has this URL as a rss source" in again.stderr
    page_id = _ok(cli, "sources", "add", "website", f"{base}/post.html", "--org", "acme").strip()

    table = _ok(cli, "sources", "list")
    assert feed_id in table and page_id in table and "ACTIVE" in table and "Blog" in table
    listed = cli.json("sources", "list", "--org", "acme", "--json")
    assert [(s["id"], s["kind"], s["status"]) for s in listed] == [
        (feed_id, "RSS", "ACTIVE"),
        (page_id, "WEBSITE", "ACTIVE"),
    ]
    assert cli.json("sources", "list", "--org", "globex", "--json") == []
    assert cli.json("sources", "list", "--status", "unhealthy", "--json") == []
    shown = cli.json("sources", "show", feed_id, "--json")
    assert shown["url"] == f"{base}/feed.xml" and shown["item_count"] == 0
    assert [(s["name"], s["job_type"], s["enabled"]) for s in shown["schedules"]] == [
        (f"context-sync:{feed_id}", "sync-rss", True)
    ]
    assert f"context-sync:{feed_id}" in _ok(cli, "sources", "show", feed_id)

    cli.start_worker("context-scraping", log=tmp_path / "worker.log", extra=("--concurrency", "2"))
    job = json.loads(_ok(cli, "sources", "sync", feed_id, "--wait", "--json", *WAIT, timeout=200))
    assert job["status"] == "COMPLETED" and job["type"] == "sync-rss", job
    assert (job["result"]["new"], job["result"]["seen"]) == (2, 0)
    page_job = _ok(cli, "sources", "sync", page_id, "--wait", *WAIT, timeout=200).strip()
    assert cli.json("jobs", "show", page_job, "--json")["status"] == "COMPLETED"

    items = cli.json("items", "list", "--source", feed_id, "--json")
    assert sorted(i["title"] for i in items) == ["Post one", "Post two"]
    assert {i["source_id"] for i in items} == {feed_id}
    assert len(cli.json("items", "list", "--org", "acme", "--since", "1h", "--json")) == 3
    assert len(cli.json("items", "list", "--limit", "1", "--json")) == 1
    assert "Queues at scale" in _ok(cli, "items", "list")
    article = cli.json("items", "list", "--source", page_id, "--json")[0]
    text = _ok(cli, "items", "show", article["id"])
    assert "durable record of every job" in text and "Buy our product" not in text
    full = cli.json("items", "show", article["id"], "--json")
    assert full["title"] == "Queues at scale" and full["author"] == "Ann Writer"
    assert cli.json("sources", "show", page_id, "--json")["item_count"] == 1

    removed = _ok(cli, "sources", "remove", feed_id)
    assert removed.strip() == f"removed {feed_id} and schedule context-sync:{feed_id}"
    assert cli.run("sources", "show", feed_id).returncode == ExitCode.NOT_FOUND
    assert cli.json("items", "list", "--json") == [article]  # the feed's items went with it


def test_preview_prints_the_article_and_a_feed(embedded_cli: Cli, site: tuple[str, list[str]]) -> None:
    base, _hits = site
    embedded_cli.env["JOBCTL_FETCH_ALLOW_PRIVATE"] = "1"
    out = _ok(embedded_cli, "sources", "preview", f"{base}/post.html")
    title, blank, *body = out.splitlines()
    assert (title, blank) == ("Queues at scale", "")
    text = "\n".join(body)
    assert "durable record of every job" in text and "act in bulk" in text
    for boilerplate in ("About us", "Buy our product", "All rights reserved"):
        assert boilerplate not in text
    page = json.loads(_ok(embedded_cli, "sources", "preview", f"{base}/post.html", "--json"))
    assert (page["title"], page["author"]) == ("Queues at scale", "Ann Writer")
    assert {"title", "author", "date", "text"} <= set(page)

    feed = json.loads(_ok(embedded_cli, "sources", "preview", f"{base}/feed.xml", "--kind", "rss", "--json"))
    assert feed["title"] == "Test blog"
    assert [(i["title"], i["link"]) for i in feed["items"]] == [
        ("Post one", f"{base}/post.html"),
        ("Post two", f"{base}/two.html"),
    ]
    assert "durable queues" in feed["items"][0]["text"]
    plain = embedded_cli.run("sources", "preview", f"{base}/feed.xml")  # no --kind: its type says feed
    assert plain.returncode == 0 and "previewed as --kind rss" in plain.stderr
    assert plain.stdout.splitlines()[:4] == ["Test blog", "", "- Post one", "- Post two"]
    assert embedded_cli.json("sources", "list", "--json") == []  # preview stores nothing
    assert embedded_cli.json("items", "list", "--json") == []


@pytest.mark.parametrize("spelling", ["http://127.1:{port}/post.html", "http://[::ffff:127.0.0.1]:{port}/"])
def test_preview_refuses_private_addresses(
    embedded_cli: Cli, site: tuple[str, list[str]], spelling: str
) -> None:
    base, hits = site
    url = spelling.format(port=base.rsplit(":", 1)[1])
    out = embedded_cli.run("sources", "preview", url)
    assert out.returncode == ExitCode.INVALID_INPUT, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: refused") and "loopback" in lines[0]
    assert "JOBCTL_FETCH_ALLOW_PRIVATE=1" in lines[0]
    assert out.stdout == "" and hits == []  # nothing was fetched


def test_five_failed_syncs_make_a_source_unhealthy_until_enabled(
    cli: Cli, site: tuple[str, list[str]], tmp_path: Path
) -> None:
    base, hits = site
    # One immediate retry per job: each job's two attempts must count as one failure.
    cli.env.update({"JOBCTL_FETCH_ALLOW_PRIVATE": "1", "JOBCTL_RETRY_INTERVALS": "0"})
    source = _ok(cli, "sources", "add", "website", f"{base}/broken", "--org", "acme").strip()
    cli.start_worker("context-scraping", log=tmp_path / "worker.log", extra=("--concurrency", "1"))

    for n in range(1, 6):
        out = cli.run("sources", "sync", source, "--wait", "--json", *WAIT, timeout=200)
        assert out.returncode == ExitCode.JOB_FAILED, (n, out.stdout, out.stderr)
        job = json.loads(out.stdout)
        assert (job["status"], job["attempts"]) == ("FAILED", 2), job
        assert "HTTP 500" in job["error"]["message"]
        state = cli.json("sources", "show", source, "--json")
        assert state["consecutive_failures"] == n
        assert state["status"] == ("UNHEALTHY" if n == 5 else "ACTIVE"), (n, state)
    assert hits.count("/broken") == 10  # 5 jobs x 2 attempts

    table = _ok(cli, "sources", "list")
    row = next(line for line in table.splitlines() if source in line)
    assert "UNHEALTHY" in row and "HTTP 500" in row
    assert [s["id"] for s in cli.json("sources", "list", "--status", "unhealthy", "--json")] == [source]
    schedule = cli.json("schedules", "show", f"context-sync:{source}", "--json")["schedule"]
    assert schedule["enabled"] is False and schedule["next_runs"] == []  # its scheduled syncs stop

    assert _ok(cli, "sources", "enable", source).strip() == f"enabled {source}"
    state = cli.json("sources", "show", source, "--json")
    assert (state["status"], state["consecutive_failures"]) == ("ACTIVE", 0)
    assert state["schedules"][0]["enabled"] is True
    schedule = cli.json("schedules", "show", f"context-sync:{source}", "--json")["schedule"]
    assert schedule["enabled"] is True and len(schedule["next_runs"]) == 3


ERROR_CASES = [
    (
        ["sources", "add", "blog", "https://e.com/", "--org", "a"],
        ExitCode.INVALID_INPUT,
        "unknown source kind",
    ),
    (["sources", "add", "rss", "e.com/feed", "--org", "a"], ExitCode.INVALID_INPUT, "http:// or https://"),
    (["sources", "add", "rss", "http://127.1/feed", "--org", "a"], ExitCode.INVALID_INPUT, "loopback"),
    (
        ["sources", "add", "document", "../x.pdf", "--org", "a"],
        ExitCode.INVALID_INPUT,
        "outside the documents",
    ),
    (
        ["sources", "add", "document", "/etc/passwd", "--org", "a"],
        ExitCode.INVALID_INPUT,
        "outside the documents",
    ),
    (["sources", "show", "src_nope"], ExitCode.NOT_FOUND, "no context source with id 'src_nope'"),
    (["sources", "enable", "src_nope"], ExitCode.NOT_FOUND, "no context source"),
    (["sources", "disable", "src_nope"], ExitCode.NOT_FOUND, "no context source"),
    (["sources", "remove", "src_nope"], ExitCode.NOT_FOUND, "no context source"),
    (["sources", "sync", "src_nope"], ExitCode.NOT_FOUND, "no context source"),
    (["sources", "list", "--status", "sleepy"], ExitCode.INVALID_INPUT, "unknown source status"),
    (["sources", "preview", "http://e.com/", "--kind", "pdf"], ExitCode.INVALID_INPUT, "--kind"),
    (["sources", "preview", "file:///etc/passwd"], ExitCode.INVALID_INPUT, "only http and https"),
    (["items", "show", "itm_nope"], ExitCode.NOT_FOUND, "no context item with id 'itm_nope'"),
    (["items", "list", "--source", "src_nope"], ExitCode.NOT_FOUND, "no context source"),
    (["items", "list", "--since", "soon"], ExitCode.INVALID_INPUT, "--since"),
]


def test_bad_input_is_one_line_and_its_exit_code(
    embedded_cli: Cli, site: tuple[str, list[str]], tmp_path: Path
) -> None:
    base, _hits = site
    (tmp_path / "docs").mkdir()
    embedded_cli.env["JOBCTL_DOCUMENTS_ROOT"] = str(tmp_path / "docs")
    cases = [
        *ERROR_CASES,
        (["sources", "preview", f"{base}/post.html"], ExitCode.INVALID_INPUT, "loopback"),
    ]
    for args, code, needle in cases:
        out = embedded_cli.run(*args)
        assert out.returncode == code, (args, out.returncode, out.stderr)
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, out.stderr)
        assert needle in lines[0], (args, lines[0])
        assert "Traceback" not in out.stderr and out.stdout == "", args
    embedded_cli.env["JOBCTL_FETCH_ALLOW_PRIVATE"] = "1"
    for path, code, needle in (
        ("/broken", ExitCode.FETCH_FAILED, "HTTP 500"),
        ("/post.html", ExitCode.FETCH_FAILED, "not an RSS, Atom or JSON feed"),
    ):
        kind = "rss" if path == "/post.html" else "website"
        out = embedded_cli.run("sources", "preview", base + path, "--kind", kind)
        assert out.returncode == code, out.stderr
        assert needle in out.stderr and len(out.stderr.strip().splitlines()) == 1
    source = embedded_cli.run("sources", "add", "rss", f"{base}/feed.xml", "--org", "a").stdout.strip()
    _ok(embedded_cli, "sources", "disable", source)
    out = embedded_cli.run("sources", "sync", source)
    assert out.returncode == ExitCode.INVALID_STATE and "DISABLED" in out.stderr
    assert embedded_cli.json("sources", "list", "--json")[0]["status"] == "DISABLED"
