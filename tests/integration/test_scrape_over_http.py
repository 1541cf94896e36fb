"""scrape_website over real HTTP: breadth-first over same-site links, no URL twice, max_pages."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from context_http import LOCAL, Answer, Site, run_for, serving

from jobctl.domain.context import SourceKind
from jobctl.services.context.sync import scrape_website
from jobctl.store.context_repo import ContextRepository
from jobctl.store.engine import create_store_engine, upgrade_schema


def _page(title: str, links: list[str]) -> Answer:
    anchors = "".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
    body = (
        f"<html><head><title>{title}</title></head><body><nav><ul>{anchors}</ul></nav>"
        f"<article><h1>{title}</h1><p>{title} is a page of this site with a paragraph of real text "
        "long enough to be taken for the article, unlike the navigation around it.</p>"
        f"<p>A second paragraph about {title}, so the extractor has something to keep.</p></article>"
        "</body></html>"
    ).encode()
    return Answer(200, body, {"Content-Type": "text/html; charset=utf-8"})


@pytest.fixture
def site() -> Iterator[Site]:
    with serving() as s:
        s.serve("/", _page("Home", ["/a", "/b#top", "/a", "http://elsewhere.example/x", "/c"]))
        s.serve("/a", _page("Page A", ["/", "/d", "/b"]))
        s.serve("/b", _page("Page B", ["/a", "/missing"]))
        s.serve("/c", _page("Page C", []))
        s.serve("/d", _page("Page D", ["/"]))
        yield s


@pytest.fixture
def repo(sqlite_url: str) -> Iterator[ContextRepository]:
    engine = create_store_engine(sqlite_url)
    upgrade_schema(engine)
    try:
        yield ContextRepository(engine)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "max_pages,expected",
    [(1, ["/"]), (3, ["/", "/a", "/b"]), (50, ["/", "/a", "/b", "/c", "/d", "/missing"])],
)
def test_breadth_first_same_site_each_url_once(
    repo: ContextRepository, site: Site, max_pages: int, expected: list[str]
) -> None:
    source = repo.add_source("acme", SourceKind.WEBSITE, site.base + "/", None, run_for("j").now())[0]
    lines: list[str] = []
    result = scrape_website(repo, source, policy=LOCAL, run=run_for("j1", lines), max_pages=max_pages)
    assert site.paths() == expected  # breadth-first, fragments dropped, off-site never fetched
    fetched = len(expected) - (1 if "/missing" in expected else 0)
    assert (result["pages"], result["failed_pages"]) == (fetched, len(expected) - fetched)
    assert result["new"] == fetched
    assert lines[-1].startswith(f"scraped: {fetched} pages")
    titles = sorted(i.title or "" for i in repo.list_items(source_id=source.id))
    assert titles == sorted(["Home", "Page A", "Page B", "Page C", "Page D"][:fetched])
