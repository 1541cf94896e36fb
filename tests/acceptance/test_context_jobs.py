"""The three context-scraping job types through a real worker against pages, a feed and documents
served on 127.0.0.1; and the SSRF refusal when private addresses are not allowed."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cli_support import Cli

FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Test blog</title><link>/</link>
<item><title>Post one</title><link>/post.html</link><guid>p1</guid>
<description>&lt;p&gt;The first post.&lt;/p&gt;</description></item>
<item><title>Post two</title><link>/two.html</link><guid>p2</guid>
<description>Second post.</description></item>
</channel></rss>"""

ARTICLE = """<html><head><title>Queues at scale</title><meta name="author" content="Ann Writer"></head>
<body><nav><a href="/">Home</a> <a href="/about.html">About us</a> <a href="/contact.html">Contact</a></nav>
<div class="ad">Buy our product now! Limited offer!</div>
<article><h1>Queues at scale</h1>
<p>Running background jobs reliably needs a durable record of every job, apart from the broker.</p>
<p>When a worker dies mid-job, the job must run again quickly on another worker, spending one attempt.</p>
<p>Operators want to see every attempt, its worker and its error, in one place, and act in bulk.</p>
</article><aside><h3>Related</h3><a href="/two.html">Post two</a></aside>
<footer>Copyright 2026 Test blog. All rights reserved.</footer></body></html>"""

pytestmark = pytest.mark.slow


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    root = tmp_path / "site"
    root.mkdir()
    (root / "feed.xml").write_text(FEED)
    (root / "post.html").write_text(ARTICLE)
    from docx import Document

    doc = Document()
    doc.add_heading("Brand guide", 1)
    doc.add_paragraph("Our voice is plain and friendly. We never promise what we cannot deliver.")
    doc.save(str(root / "guide.docx"))
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 10, "Quarterly report. Engagement grew by twelve percent on LinkedIn.")
    pdf.output(str(root / "report.pdf"))
    hits: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, fmt: str, *args: Any) -> None:
            hits.append(self.path)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", hits
    finally:
        httpd.shutdown()
        httpd.server_close()


def _wait_json(cli: Cli, *args: str) -> dict[str, Any]:
    out = cli.run("enqueue", *args, "--org", "acme", "--wait", "--json", timeout=90)
    assert out.stdout, out.stderr
    return dict(json.loads(out.stdout))


def _items(cli: Cli) -> list[tuple[str, str | None, str]]:
    import sqlite3

    db = Path(cli.env["JOBCTL_DATA_DIR"]) / "jobctl.db"
    with sqlite3.connect(db) as conn:
        return list(conn.execute("SELECT source_id, title, text FROM context_items ORDER BY title"))


def test_feed_page_and_documents_become_items(
    embedded_cli: Cli, site: tuple[str, list[str]], tmp_path: Path
) -> None:
    base, _hits = site
    embedded_cli.env["JOBCTL_FETCH_ALLOW_PRIVATE"] = "1"
    embedded_cli.start_worker("context-scraping", log=tmp_path / "worker.log", extra=("--concurrency", "2"))

    first = _wait_json(embedded_cli, "sync-rss", f"feed_url={base}/feed.xml")
    assert first["status"] == "COMPLETED", first
    assert (first["result"]["new"], first["result"]["seen"]) == (2, 0)
    again = _wait_json(embedded_cli, "sync-rss", f"feed_url={base}/feed.xml")
    assert again["status"] == "COMPLETED", again
    assert again["result"]["new"] == 0  # a 304, or nothing new
    assert again["result"]["source_id"] == first["result"]["source_id"]

    page = _wait_json(embedded_cli, "scrape-website", f"url={base}/post.html")
    assert page["status"] == "COMPLETED", page
    for kind, name in (("docx", "guide.docx"), ("pdf", "report.pdf")):
        doc = _wait_json(embedded_cli, "process-document", f"url={base}/{name}")
        assert doc["status"] == "COMPLETED", (kind, doc)
        assert doc["result"]["new"] >= 1

    texts = {title: text for _source, title, text in _items(embedded_cli)}
    assert {"Post one", "Post two", "Queues at scale"} <= set(texts)
    article = texts["Queues at scale"]
    assert "durable record of every job" in article
    for boilerplate in ("About us", "Buy our product", "Related", "All rights reserved"):
        assert boilerplate not in article
    everything = "\n".join(text for _source, _title, text in _items(embedded_cli))
    assert "never promise what we cannot deliver" in everything
    assert "twelve percent" in everything


@pytest.mark.parametrize(
    "url", ["http://127.1:{port}/post.html", "http://[::ffff:127.0.0.1]:{port}/post.html"]
)
def test_private_addresses_refused_without_a_fetch(
    embedded_cli: Cli, site: tuple[str, list[str]], tmp_path: Path, url: str
) -> None:
    base, hits = site
    port = base.rsplit(":", 1)[1]
    embedded_cli.start_worker("context-scraping", log=tmp_path / "worker.log", extra=("--concurrency", "1"))
    job = _wait_json(embedded_cli, "scrape-website", "url=" + url.format(port=port))
    assert job["status"] == "FAILED"
    assert job["attempts"] == 1  # refused for good: no retry
    assert job["error"]["type"] == "UnsafeURLError"
    assert "loopback" in job["error"]["message"]
    assert hits == []
