"""extract_article: main text without boilerplate, metadata, links, hostile input within time."""

from __future__ import annotations

import contextlib
import random
import time
from datetime import UTC, datetime
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest

from jobctl.services.context.extract import ExtractionError, _join, extract_article

PAGE = (
    """<html><head><title>Site | Story</title>
<script type="application/ld+json">{"@type":"NewsArticle","headline":"Big story","author":{"name":"Ann Lee"},
"datePublished":"2024-03-01T10:00:00+02:00"}</script></head><body>
<nav><a href="/">Home</a> <a href="/news">News</a></nav>
<article><h1>Big story</h1><p>"""
    + "The council approved the new budget after a long debate. " * 8
    + """</p>
<p>Residents said the <a href="/budget#detail">plan</a> was overdue and welcomed it.</p></article>
<footer>Copyright 2024 Example Media</footer></body></html>"""
)


def test_article_text_metadata_links() -> None:
    article = extract_article(PAGE, url="https://example.com/a/b")
    assert "council approved the new budget" in article.text
    assert "Copyright" not in article.text and "Home" not in article.text
    assert article.title == "Big story" and article.author == "Ann Lee"
    assert article.published_at == datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    assert article.links == ["https://example.com/", "https://example.com/news", "https://example.com/budget"]


def _urljoin_links(base: str, href: str) -> str | None:
    try:
        absolute = urldefrag(urljoin(base, href)).url
    except ValueError:
        return None
    return absolute if urlsplit(absolute).scheme in ("http", "https") else None


@pytest.mark.parametrize(
    "base",
    [
        "https://news.example/a/b/story.html?x=1",
        "http://127.0.0.1:8080/r/1.html",
        "https://Ex.COM",
        "file:///d.html",
    ],
)
def test_links_fast_paths_equal_urljoin(base: str) -> None:
    """The hrefs document_links joins without urljoin come out exactly as urljoin makes them."""
    crafted = [
        "/a/b", "/a/./b", "/a/../b", "/a/.", "/a?", "/a?#x", "/a;", "/a;p?q=1#f", "//other.example/x",
        "/a b", "/a\tb", "/[x]", "http://h.example", "https://h.example/x?y=1#z", "HTTP://h.example/",
        "https://[::1]/x", "http://h.example:80/a/../b", "https://h.example/a?", "/é", "?q=1", "b/c", "../c",
    ]  # fmt: skip
    rng = random.Random(7)
    alphabet = "/.?#;:@[]\\ %aZ09-_~=&+!$'()*,"
    prefixes = ["/", "//", "http://", "https://", "", "./", "../", "?"]
    fuzzed = [
        rng.choice(prefixes) + "".join(rng.choices(alphabet, k=rng.randint(0, 10))) for _ in range(5000)
    ]
    parts = urlsplit(base)
    origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme.startswith("http") else None
    for href in crafted + fuzzed:
        assert _join(base, origin, href) == _urljoin_links(base, href), href


def test_no_main_text() -> None:
    with pytest.raises(ExtractionError, match="no main text"):
        extract_article("<html><body></body></html>", url="https://example.com/")


def test_deeply_nested_and_huge_pages_finish() -> None:
    nested = "<html><body>" + "<div>" * 100_000 + "deep" + "</div>" * 100_000 + "</body></html>"
    huge = "<html><body>" + "<p>filler text here</p>" * 500_000 + "</body></html>"
    for html in (nested, huge):
        started = time.monotonic()
        with contextlib.suppress(ExtractionError):
            extract_article(html, url="https://example.com/")
        assert time.monotonic() - started < 60
