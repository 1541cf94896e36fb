"""A site for the context benchmarks: RSS feeds and article pages, served on 127.0.0.1 (run by path).

`python benchmarks/context_server.py FEEDS ITEMS PAGES` builds FEEDS RSS 2.0 feeds of ITEMS items
each (`/<any prefix>/feed/N.xml`) and PAGES article pages (`/<any prefix>/article/N.html`), all
different and deterministic, listens on a free port, prints it, and serves until terminated.
The path's prefix is ignored, so each round of a benchmark can use fresh URLs (fresh sources)
for the same bytes. asyncio in its own process: both sides of a benchmark share the same server
and neither pays for it in its own process.
"""

from __future__ import annotations

import asyncio
import random
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

WORDS = [
    "queue",
    "worker",
    "job",
    "retry",
    "lease",
    "schedule",
    "feed",
    "article",
    "source",
    "context",
    "brand",
    "voice",
    "customer",
    "report",
    "growth",
    "channel",
    "campaign",
    "audience",
    "metric",
    "latency",
    "throughput",
    "durable",
    "record",
    "broker",
    "operator",
    "dashboard",
    "failure",
    "recovery",
    "backoff",
    "deadline",
    "payload",
    "organisation",
    "content",
    "draft",
    "review",
    "publish",
    "engagement",
    "quarter",
    "market",
    "product",
    "launch",
    "team",
    "people",
    "plain",
    "friendly",
    "clear",
]
BASE_DATE = datetime(2026, 1, 1, tzinfo=UTC)


def _sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def _paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(_sentence(rng, rng.randint(8, 18)) for _ in range(sentences))


def feed(n: int, items: int) -> bytes:
    """An RSS 2.0 feed: items with guid, relative link, date and an HTML description."""
    rng = random.Random(n)
    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
        f"<title>Blog {n}</title><link>/blog/{n}/</link><description>Posts of blog {n}</description>",
    ]
    for i in range(items):
        when = format_datetime(BASE_DATE - timedelta(hours=i), usegmt=True)
        body = "".join(f"<p>{_paragraph(rng, 2)}</p>" for _ in range(2))
        desc = body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        out.append(
            f"<item><title>{_sentence(rng, 6)}</title><link>/blog/{n}/post-{i}.html</link>"
            f'<guid isPermaLink="false">blog-{n}-post-{i}</guid><pubDate>{when}</pubDate>'
            f"<author>writer{n}@example.com (Writer {n})</author><description>{desc}</description></item>"
        )
    out.append("</channel></rss>\n")
    return "".join(out).encode("utf-8")


def article(n: int) -> bytes:
    """An article page with the usual boilerplate around it (nav, ads, related links, footer)."""
    rng = random.Random(100_000 + n)
    title = _sentence(rng, 7).rstrip(".")
    nav = "".join(f'<li><a href="/section/{k}.html">Section {k}</a></li>' for k in range(12))
    paragraphs = "".join(f"<p>{_paragraph(rng, rng.randint(3, 6))}</p>" for _ in range(rng.randint(6, 12)))
    related = "".join(
        f'<li><a href="/article/{(n + k) % 997}.html">{_sentence(rng, 5)}</a></li>' for k in range(8)
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{title} | Example News</title><meta name='author' content='Reporter {n % 37}'>"
        f"<meta property='article:published_time' content='2026-01-{1 + n % 28:02d}T08:00:00Z'>"
        "<link rel='stylesheet' href='/site.css'><script>window.dataLayer=[];</script></head><body>"
        f"<header><a href='/'>Example News</a><nav><ul>{nav}</ul></nav></header>"
        "<div class='ad banner'>Subscribe today and save 50%! Limited offer.</div>"
        f"<main><article><h1>{title}</h1><p class='byline'>By Reporter {n % 37}</p>{paragraphs}</article>"
        f"<aside class='related'><h3>Related stories</h3><ul>{related}</ul></aside>"
        "<section class='comments'><h3>Comments</h3><p>Great read! First!</p></section></main>"
        "<footer><p>Copyright 2026 Example News. All rights reserved.</p>"
        "<a href='/privacy.html'>Privacy</a> <a href='/terms.html'>Terms</a></footer></body></html>"
    ).encode()


def _response(body: bytes, content_type: str, status: str = "200 OK") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode("ascii") + body


NOT_FOUND = _response(b"not found", "text/plain", "404 Not Found")


def _key(path: str) -> tuple[str, int]:
    """`/any/prefix/feed/12.xml` -> ("feed", 12); anything else -> a key that is not served."""
    parts = path.split("?", 1)[0].rsplit("/", 2)
    stem = parts[-1].split(".", 1)[0]
    return (parts[-2], int(stem)) if len(parts) == 3 and stem.isdigit() else ("", -1)


async def _serve(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pages: dict[tuple[str, int], bytes]
) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                return
            path = head.split(b" ", 2)[1].decode("latin-1")
            writer.write(pages.get(_key(path), NOT_FOUND))
            await writer.drain()
    except ConnectionError:
        return
    finally:
        writer.close()


async def main(feeds: int, items: int, articles: int) -> None:
    pages: dict[tuple[str, int], bytes] = {}
    for n in range(feeds):
        pages[("feed", n)] = _response(feed(n, items), "application/rss+xml; charset=utf-8")
    for n in range(articles):
        pages[("article", n)] = _response(article(n), "text/html; charset=utf-8")
    server = await asyncio.start_server(lambda r, w: _serve(r, w, pages), "127.0.0.1", 0, backlog=1024)
    sys.stdout.write(f"{server.sockets[0].getsockname()[1]}\n")
    sys.stdout.flush()
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])))
