"""extract_article: main text without boilerplate, metadata, links, hostile input within time."""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime

import pytest

from jobctl.services.context.extract import ExtractionError, extract_article

PAGE = """<html><head><title>Site | Story</title>
<script type="application/ld+json">{"@type":"NewsArticle","headline":"Big story","author":{"name":"Ann Lee"},
"datePublished":"2024-03-01T10:00:00+02:00"}</script></head><body>
<nav><a href="/">Home</a> <a href="/news">News</a></nav>
<article><h1>Big story</h1><p>""" + "The council approved the new budget after a long debate. " * 8 + """</p>
<p>Residents said the <a href="/budget#detail">plan</a> was overdue and welcomed it.</p></article>
<footer>Copyright 2024 Example Media</footer></body></html>"""


def test_article_text_metadata_links() -> None:
    article = extract_article(PAGE, url="https://example.com/a/b")
    assert "council approved the new budget" in article.text
    assert "Copyright" not in article.text and "Home" not in article.text
    assert article.title == "Big story" and article.author == "Ann Lee"
    assert article.published_at == datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    assert article.links == ["https://example.com/", "https://example.com/news", "https://example.com/budget"]


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
