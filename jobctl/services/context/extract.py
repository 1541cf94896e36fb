"""Main-article extraction from one HTML page: title, author, date, main text and its links.

Built on trafilatura (leads the public comparisons) with readability-lxml as a second opinion;
`clean.py` fixes the markup first, `combine.py` decides per page which text to keep and `refine.py`
removes the lines that survive as boilerplate. The input is capped (`MAX_HTML_CHARS`) and
parsed once by libxml2 without ``huge_tree``, which caps nesting depth at 256, so a hostile page
(100k nested divs, megabytes of markup) cannot exhaust the stack or take unbounded time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urldefrag, urljoin, urlsplit

import lxml.etree
import lxml.html
from lxml.html import HtmlElement

from jobctl.services.context.clean import prepare_tree
from jobctl.services.context.combine import choose_text
from jobctl.services.context.metadata import find_article_body, find_metadata, parse_datetime

MAX_HTML_CHARS = 5_000_000
"""Characters of markup parsed at most; the rest is dropped (a real article fits many times over)."""
MAX_LINKS = 5_000


class ExtractionError(Exception):
    """The page has no main text we could find (or is not parseable HTML at all)."""


@dataclass(frozen=True)
class Article:
    """One extracted article; `text` holds paragraphs separated by blank lines."""

    title: str | None
    author: str | None
    published_at: datetime | None
    text: str
    links: list[str]
    extractor: str


def parse_html(html: str) -> HtmlElement:
    """The page as an lxml tree (capped input, no huge_tree, no network, no entity expansion)."""
    html = html[:MAX_HTML_CHARS]
    # encoding="utf-8": the bytes below are UTF-8 whatever the page's <meta charset> says (the text
    # was decoded already); without it libxml2 re-decodes them as e.g. Shift_JIS and makes mojibake.
    parser = lxml.html.HTMLParser(
        remove_comments=True,
        no_network=True,
        huge_tree=False,
        recover=True,
        default_doctype=False,
        encoding="utf-8",
    )
    try:
        tree = lxml.html.document_fromstring(html.encode("utf-8", "replace"), parser=parser)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise ExtractionError(f"no main text found: the page is not parseable HTML ({exc})") from exc
    return tree


# An href urljoin would return unchanged but for the base's origin: ASCII URL characters only, no
# dot segment, no empty query or params (urljoin drops those), no backslash or whitespace.
_PLAIN_PATH = r"(?:/(?!\.)[A-Za-z0-9\-_~=&%+:@!$'()*,.]*)*(?:\?[A-Za-z0-9\-_~/=&%+:@!$'()*,.?]+)?"
_PLAIN_ABSOLUTE = re.compile(rf"https?://[A-Za-z0-9\-.]+(?::[0-9]+)?{_PLAIN_PATH}")
_PLAIN_ROOTED = re.compile(rf"(?!//){_PLAIN_PATH}")


def document_links(tree: HtmlElement, url: str) -> list[str]:
    """Absolute http(s) links of the page (fragments dropped), in document order, deduplicated.

    The common hrefs ("/section/x", "https://host/path") skip urljoin, whose parsing was 4 ms of a
    54 KB news page's 14 (215 links); the result is the same (tests/unit/context/test_extract.py).
    """
    base = url
    for node in tree.iter("base"):
        if node.get("href"):
            base = urljoin(url, str(node.get("href")).strip())
            break
    try:
        parts = urlsplit(base)
    except ValueError:
        parts = urlsplit("")
    web = parts.scheme in ("http", "https") and parts.netloc
    origin = f"{parts.scheme}://{parts.netloc}" if web else None
    seen: dict[str, None] = {}
    for anchor in tree.iter("a"):
        href = (anchor.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
            continue
        absolute = _join(base, origin, href)
        if absolute is not None and absolute not in seen:
            seen[absolute] = None
            if len(seen) >= MAX_LINKS:
                break
    return list(seen)


def _join(base: str, origin: str | None, href: str) -> str | None:
    """urldefrag(urljoin(base, href)) when it is an http(s) URL, else None; `origin` is the base's
    scheme://netloc when it is http(s) (the fast paths need it)."""
    plain = href.split("#", 1)[0]
    if plain and _PLAIN_ABSOLUTE.fullmatch(plain):
        return plain
    if origin is not None and plain.startswith("/") and _PLAIN_ROOTED.fullmatch(plain):
        return origin + plain
    try:
        absolute = urldefrag(urljoin(base, href)).url
        return absolute if urlsplit(absolute).scheme in ("http", "https") else None
    except ValueError:
        return None


def extract_article(html: str, *, url: str) -> Article:
    """Extract the main article of `html` fetched from `url`; ExtractionError when there is none."""
    tree = parse_html(html)
    title, author, published = find_metadata(tree)
    links = document_links(tree, url)
    headlines = [title, _html_title(tree), *(h.text_content() for h in tree.iter("h1"))][:6]
    article_body = find_article_body(tree)
    prepare_tree(tree)  # after links and metadata: it removes embeds and rewrites layout tables
    chosen = choose_text(
        tree,
        url=url,
        titles=headlines,
        article_body=article_body,
        with_metadata=not (title and author and published),
        need_author=not author,
        need_date=not published,
        size=min(len(html), MAX_HTML_CHARS),
    )
    if chosen is None or not chosen.text.strip():
        raise ExtractionError("no main text found on the page")
    title = title or chosen.title or _html_title(tree)
    author = author or chosen.author
    published = published or parse_datetime(chosen.date)
    return Article(
        title=_clean(title),
        author=_clean(author),
        published_at=published,
        text=chosen.text,
        links=links,
        extractor=chosen.extractor,
    )


def _html_title(tree: HtmlElement) -> str | None:
    for node in tree.iter("title"):
        return node.text_content().strip() or None
    return None


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    return value or None
