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
import json
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


def _links(rng: random.Random, prefix: str, count: int, words: int) -> str:
    return "".join(
        f'<li class="menu-item"><a class="menu-link" href="/{prefix}/{rng.randint(1, 9999)}.html">'
        f"{_sentence(rng, words).rstrip('.')}</a></li>"
        for _ in range(count)
    )


def article(n: int) -> bytes:
    """An article page the size and shape of a real one (~80 KB): inline script and style, a
    mega-menu, ads, the article (~900 words, a figure, a quote), related stories, comments
    and a footer of links. The article is ~7 KB of it, as on real news pages."""
    rng = random.Random(100_000 + n)
    title = _sentence(rng, 7).rstrip(".")
    menu = "".join(
        f"<li class='menu-section'><a href='/section/{k}/'>Section {k}</a><ul class='sub-menu'>"
        f"{_links(rng, f'section/{k}', 12, 3)}</ul></li>"
        for k in range(10)
    )
    body = "".join(f"<p>{_paragraph(rng, rng.randint(3, 6))}</p>" for _ in range(rng.randint(10, 14)))
    figure = (
        f"<figure><img src='/img/{n}.jpg' alt='{_sentence(rng, 4)}' width='800' height='450'>"
        f"<figcaption>{_sentence(rng, 10)}</figcaption></figure>"
    )
    quote = f"<blockquote><p>{_sentence(rng, 16)}</p></blockquote>"
    related = _links(rng, "article", 24, 8)
    comments = "".join(
        f"<li class='comment'><div class='comment-author'>reader{rng.randint(1, 999)}</div>"
        f"<div class='comment-body'><p>{_paragraph(rng, 2)}</p></div>"
        "<a class='reply' href='#reply'>Reply</a></li>"
        for _ in range(12)
    )
    footer = "".join(f"<ul class='footer-col'>{_links(rng, 'info', 12, 2)}</ul>" for _ in range(5))
    script = "window.__STATE__=" + json.dumps({"ids": list(range(1500)), "flags": {"ads": True}}) + ";"
    style = "".join(
        f".c{k}{{margin:{k % 9}px;padding:{k % 7}px;color:#{k * 2654435761 % 0xFFFFFF:06x}}}"
        for k in range(300)
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{title} | Example News</title><meta name='author' content='Reporter {n % 37}'>"
        f"<meta property='article:published_time' content='2026-01-{1 + n % 28:02d}T08:00:00Z'>"
        f"<meta name='description' content='{_sentence(rng, 20)}'>"
        f"<link rel='canonical' href='/article/{n}.html'>"
        f"<style>{style}</style><script>{script}</script></head><body>"
        f"<header class='site-header'><a class='logo' href='/'>Example News</a>"
        f"<nav class='main-nav'><ul class='menu'>{menu}</ul></nav></header>"
        "<div class='ad banner'>Subscribe today and save 50%! Limited offer.</div>"
        f"<main><article class='post'><h1>{title}</h1><p class='byline'>By Reporter {n % 37}</p>"
        f"{body[: len(body) // 2]}{figure}{quote}{body[len(body) // 2 :]}</article>"
        "<div class='ad inline'>Advertisement: the best deals of the week.</div>"
        f"<aside class='related'><h3>Related stories</h3><ul>{related}</ul></aside>"
        f"<section class='comments'><h3>Comments</h3><ol>{comments}</ol></section></main>"
        f"<footer class='site-footer'>{footer}"
        "<p>Copyright 2026 Example News. All rights reserved.</p></footer>"
        "</body></html>"
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
