"""The demo's own little website on 127.0.0.1: an article, an RSS feed of three posts and a PDF.

`jobctl demo` scrapes, syncs and processes these instead of real sites, so it never leaves the
machine and works without a network. The pages are written like real ones (navigation, a
related-links box, a footer) so the extraction has boilerplate to remove.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

POSTS = (
    ("launch-week", "Launch week recap", "Five releases in five days: what shipped and what we learned."),
    ("queue-health", "Keeping queues healthy", "Why stalled jobs come back at once and failed ones wait."),
    ("context-engine", "Feeding the content factory", "Sources, feeds and documents become context."),
)


def article_html(slug: str, title: str, summary: str) -> str:
    paragraphs = "".join(
        f"<p>{summary} Paragraph {n} goes into the detail an operator wants: what runs where, "
        f"how long it takes, and what happens when a worker dies in the middle of a job.</p>"
        for n in range(1, 4)
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{title} | Demo Blog</title><meta name='author' content='Demo Team'>"
        f"<meta property='article:published_time' content='2026-11-{10 + len(slug) % 9}T09:00:00Z'>"
        "</head><body><nav><a href='/'>Home</a> <a href='/about'>About</a> <a href='/feed.xml'>RSS</a>"
        f"</nav><main><article><h1>{title}</h1>{paragraphs}</article>"
        "<aside class='related'><h3>Related posts</h3><ul>"
        + "".join(f"<li><a href='/posts/{s}.html'>{t}</a></li>" for s, t, _ in POSTS)
        + "</ul></aside></main><footer>Copyright 2026 Demo Blog. All rights reserved.</footer>"
        "</body></html>"
    )


def feed_xml(base: str) -> str:
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    items = "".join(
        f"<item><title>{title}</title><link>{base}/posts/{slug}.html</link>"
        f"<guid isPermaLink='false'>demo-{slug}</guid>"
        f"<pubDate>{format_datetime(now - timedelta(days=i))}</pubDate>"
        f"<description>{summary}</description></item>"
        for i, (slug, title, summary) in enumerate(POSTS)
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
        f"<title>Demo Blog</title><link>{base}/</link><description>The demo's feed</description>"
        f"{items}</channel></rss>"
    )


def pdf_bytes(lines: tuple[str, ...]) -> bytes:
    """A one-page PDF with text (a real, parseable file: offsets in the xref are computed)."""
    text = "BT /F1 12 Tf 72 720 Td 16 TL " + " ".join(f"({line}) Tj T*" for line in lines) + " ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >>"
        b" /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(text) + text.encode("latin-1") + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


GUIDE_LINES = (
    "Operator guide for the demo platform.",
    "Workers run jobs from queues; every job is a row in the jobs table.",
    "A job whose worker dies is queued again at once; failures wait and retry.",
)


class DemoSite:
    """A threaded HTTP server on 127.0.0.1 (a free port); `stop()` shuts it down."""

    def __init__(self) -> None:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body, content_type = site.resource(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, format: str, *args: Any) -> None:
                return  # the demo's output stays its report

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def resource(self, path: str) -> tuple[bytes | None, str]:
        if path == "/feed.xml":
            return feed_xml(self.base).encode(), "application/rss+xml; charset=utf-8"
        if path == "/guide.pdf":
            return pdf_bytes(GUIDE_LINES), "application/pdf"
        for slug, title, summary in POSTS:
            if path == f"/posts/{slug}.html":
                return article_html(slug, title, summary).encode(), "text/html; charset=utf-8"
        return None, "text/plain"

    def url(self, path: str) -> str:
        return self.base + path

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
