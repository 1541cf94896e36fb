"""Article metadata (title, author, publication date) from JSON-LD, OpenGraph/meta tags and <time>.

Why our own pass on top of trafilatura's: trafilatura (through htmldate) reports a date with day
precision only, and the processor stores a UTC instant; JSON-LD ``datePublished``,
``article:published_time`` and ``<time datetime>`` usually carry the full timestamp. When none of
those is present the caller falls back to trafilatura's values (`fallback_metadata`).
"""

from __future__ import annotations

import contextlib
import json
import re
from datetime import UTC, datetime
from typing import Any

from htmldate import find_date
from lxml.html import HtmlElement
from trafilatura import metadata as trafilatura_metadata
from trafilatura.settings import set_date_params

_ARTICLE_TYPES = {
    "article",
    "newsarticle",
    "blogposting",
    "reportagenewsarticle",
    "techarticle",
    "scholarlyarticle",
    "webpage",
    "report",
    "analysisnewsarticle",
    "opinionnewsarticle",
}
_DATE_META = (
    "article:published_time",
    "og:published_time",
    "datePublished",
    "pubdate",
    "publishdate",
    "date",
    "dc.date",
    "dc.date.issued",
    "dcterms.created",
    "sailthru.date",
    "parsely-pub-date",
)
_AUTHOR_META = ("author", "article:author", "dc.creator", "byl", "parsely-author", "sailthru.author")
_MAX_JSONLD_CHARS = 1_000_000


def parse_datetime(value: str | None) -> datetime | None:
    """An ISO-8601-ish date or timestamp as a UTC-aware datetime (naive values are taken as UTC)."""
    if not value:
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text)  # +0200 -> +02:00
    for candidate in (text, text[:19], text[:10]):
        try:
            parsed = datetime.fromisoformat(candidate)
        except ValueError:
            continue
        if parsed.year < 1990 or parsed.year > 2100:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    return None


def _jsonld_objects(tree: HtmlElement) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        raw = (script.text or "").strip()
        if not raw or len(raw) > _MAX_JSONLD_CHARS:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        stack: list[Any] = [data]
        while stack and len(found) < 100:
            item = stack.pop(0)
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                if "@graph" in item:
                    stack.extend(item["@graph"] if isinstance(item["@graph"], list) else [item["@graph"]])
                found.append(item)
    return found


def _types(obj: dict[str, Any]) -> set[str]:
    kind = obj.get("@type", "")
    kinds = kind if isinstance(kind, list) else [kind]
    return {str(k).lower() for k in kinds}


def _person_name(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict):
        return _person_name(value.get("name"))
    if isinstance(value, list):
        names = [n for n in (_person_name(v) for v in value) if n]
        return ", ".join(names) or None
    return None


def _meta(tree: HtmlElement, names: tuple[str, ...]) -> str | None:
    wanted = {n.lower() for n in names}
    for meta in tree.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        if key in wanted and (meta.get("content") or "").strip():
            return str(meta.get("content")).strip()
    return None


def find_metadata(tree: HtmlElement) -> tuple[str | None, str | None, datetime | None]:
    """(title, author, published_at) from structured markup only; None where the page says nothing."""
    title: str | None = None
    author: str | None = None
    published: datetime | None = None
    for obj in _jsonld_objects(tree):
        if not _types(obj) & _ARTICLE_TYPES:
            continue
        title = title or _person_name(obj.get("headline")) or None
        author = author or _person_name(obj.get("author"))
        published = published or parse_datetime(str(obj.get("datePublished") or "") or None)
    title = title or _meta(tree, ("og:title", "twitter:title"))
    author = author or _meta(tree, _AUTHOR_META)
    if author and author.startswith(("http://", "https://")):
        author = None  # article:author is often a profile URL, not a name
    published = published or parse_datetime(_meta(tree, _DATE_META))
    if published is None:
        times = "//time[@datetime][@itemprop='datePublished' or @pubdate] | //time[@datetime]"
        for node in tree.xpath(times):
            published = parse_datetime(node.get("datetime"))
            if published:
                break
    return title, author, published


def find_article_body(tree: HtmlElement) -> str | None:
    """The JSON-LD article's ``articleBody``, if any (some app shells have no other text)."""
    for obj in _jsonld_objects(tree):
        if _types(obj) & _ARTICLE_TYPES and isinstance(obj.get("articleBody"), str):
            body = str(obj["articleBody"]).strip()
            if body:
                return body
    return None


def fallback_metadata(
    tree: HtmlElement, *, url: str, need_author: bool = True, need_date: bool = True
) -> dict[str, str | None]:
    """trafilatura's title, author and date for the page, computed as its `extract_metadata` does,
    without the fields we never use (site name, categories, tags, licence: half its time on a
    news page, 9 ms of 17) and without the author or date searches the caller does not need."""
    found = trafilatura_metadata.examine_meta(tree)
    if found.author and " " not in found.author:
        found.author = None  # as trafilatura does: a single word is rarely a byline
    with contextlib.suppress(Exception):  # trafilatura guards this call so (bugs in its JSON-LD reader)
        found = trafilatura_metadata.extract_meta_json(tree, found)
    if not found.title:
        found.title = trafilatura_metadata.extract_title(tree)
    if need_author and not found.author:
        found.author = trafilatura_metadata.extract_author(tree)
    if need_date:
        # No "extensive" date search: it hands free text to dateparser, which loads each language's
        # data on first use (7 s for one Russian forum page here) and mostly guesses wrong dates.
        params = set_date_params(extensive=False)
        params["url"] = found.url or trafilatura_metadata.extract_url(tree, url)
        found.date = find_date(tree, **params)
    found.clean_and_trim()
    return {k: (str(getattr(found, k)) if getattr(found, k) else None) for k in ("title", "author", "date")}
