"""Feeds from the bytes we fetched: RSS 0.9x/1.0/2.0 and Atom through feedparser, JSON Feed by hand.

feedparser is handed a stream of our bytes, never a string: given a string (or bytes) it may
fetch a URL or open a local path itself, which would bypass every check of the safe fetch.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin

from jobctl.services.context.errors import NotAFeedError
from jobctl.services.context.feed_bytes import prepare
from jobctl.services.context.textify import html_fragment_to_text

MAX_ITEMS = 10_000
_JSON_FEED_VERSIONS = ("https://jsonfeed.org/version/1", "https://jsonfeed.org/version/1.1")


@dataclass(frozen=True)
class FeedItem:
    guid: str | None
    link: str | None
    title: str | None
    author: str | None
    published_at: datetime | None
    text: str
    content_hash: str


@dataclass
class ParsedFeed:
    title: str | None
    link: str | None
    items: list[FeedItem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def content_hash(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()


def dedupe_key(item: FeedItem) -> str:
    """What makes an item the same item: its guid, else its link, else its content."""
    if item.guid:
        return f"guid:{item.guid}"
    if item.link:
        return f"link:{item.link}"
    return f"hash:{item.content_hash}"


def parse_feed(body: bytes, *, headers: Mapping[str, str], base_url: str) -> ParsedFeed:
    """Parse a fetched feed; NotAFeedError for an HTML page, an empty body or a JSON error."""
    stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped:
        raise NotAFeedError("the response is empty, not a feed")
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if stripped[:1] in (b"{", b"[") or content_type in ("application/feed+json", "application/json"):
        feed = _parse_json_feed(stripped, base_url)
    else:
        feed = _parse_xml_feed(body, headers, base_url)
    return _deduplicated(feed)


@functools.cache
def _feedparser() -> Any:
    """feedparser (~40 ms to import: only where feeds are parsed), its base-URI check memoised.

    At every start tag feedparser re-checks the current base URI against the element's
    xml:base, which is almost always the same URI again: make_safe_absolute_uri(base, base),
    a urljoin each, ~35 an item and a quarter of its CPU on a 50-item feed (24 -> 18 ms).
    It is a pure function of its two strings; long ones (hostile xml:base values) are not
    kept, so the cache stays small.
    """
    import feedparser
    import feedparser.mixin

    check = getattr(feedparser.mixin, "make_safe_absolute_uri", None)
    if check is not None:  # a feedparser without it parses as it comes
        remembered = functools.lru_cache(maxsize=64)(check)

        def make_safe_absolute_uri(base: str, rel: str | None = None) -> str:
            if len(base) + len(rel or "") > 2048:
                return str(check(base, rel))
            return str(remembered(base, rel))

        feedparser.mixin.make_safe_absolute_uri = make_safe_absolute_uri
    return feedparser


def _parse_xml_feed(body: bytes, headers: Mapping[str, str], base_url: str) -> ParsedFeed:
    feedparser = _feedparser()
    warnings: list[str] = []
    body, response_headers = prepare(body, {k.lower(): v for k, v in headers.items()}, warnings)
    response_headers.setdefault("content-location", base_url)
    # Items keep text, not markup: feedparser's sanitizer (its sgmllib parser rewriting every
    # HTML field) and its pass resolving URIs inside that markup make HTML that textify then
    # throws away (script and style included): a third of feedparser's CPU on a 50-item feed
    # (36 -> 25 ms). Entry links and permalink guids are still resolved (feedparser does
    # those apart from these passes), and HTML titles are made text below.
    parsed: Any = feedparser.parse(
        io.BytesIO(body), response_headers=response_headers, sanitize_html=False, resolve_relative_uris=False
    )
    version = parsed.get("version") or ""
    if not version:
        reason = parsed.get("bozo_exception")
        raise NotAFeedError(
            f"the response is not an RSS, Atom or JSON feed{f' ({reason})' if reason else ''}"
        )
    if parsed.get("bozo"):
        warnings.append(f"malformed feed read leniently: {parsed.get('bozo_exception')}")
    meta = parsed.get("feed", {})
    entries = list(parsed.get("entries", []))
    if len(entries) > MAX_ITEMS:
        warnings.append(f"feed has {len(entries)} items; kept the first {MAX_ITEMS}")
        entries = entries[:MAX_ITEMS]
    items = [_xml_item(entry, base_url) for entry in entries]
    title = _plain(meta.get("title"), meta.get("title_detail"))
    return ParsedFeed(title=title, link=meta.get("link"), items=items, warnings=warnings)


def _plain(value: str | None, detail: Any) -> str | None:
    """A title as text: feedparser hands HTML titles (Atom type="html", RSS titles that look
    like HTML) over as markup, unsanitized (see above)."""
    if not value:
        return value
    kind = (detail or {}).get("type", "")
    if "html" in kind and ("<" in value or "&" in value):
        return " ".join(html_fragment_to_text(value).split()) or None
    return value


def _xml_item(entry: Any, base_url: str) -> FeedItem:
    html = ""
    if entry.get("content"):
        html = "\n".join(part.get("value", "") for part in entry["content"])
    elif entry.get("summary"):
        html = entry["summary"]
    text = html_fragment_to_text(html) if "<" in html else " ".join(html.split())
    link = entry.get("link")
    published = entry.get("published_parsed") or entry.get("updated_parsed")
    title = _plain(entry.get("title"), entry.get("title_detail"))
    return FeedItem(
        guid=entry.get("id") or None,
        link=_absolute(link, base_url),
        title=title or None,
        author=entry.get("author") or None,
        published_at=_struct_time(published),
        text=text,
        content_hash=content_hash(f"{title or ''}\n{text}"),
    )


def _absolute(link: str | None, base_url: str) -> str | None:
    """The item's link made absolute; feedparser has resolved most already (a urljoin that
    changes nothing costs ~10 us, 0.5 ms a 50-item feed)."""
    if not link:
        return None
    return link if link.startswith(("https://", "http://")) else urljoin(base_url, link)


def _parse_json_feed(body: bytes, base_url: str) -> ParsedFeed:
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NotAFeedError(f"the response is not a feed (invalid JSON: {exc})") from None
    if not isinstance(doc, dict) or doc.get("version") not in _JSON_FEED_VERSIONS:
        raise NotAFeedError("the response is JSON but not a JSON Feed (no jsonfeed.org version)")
    raw_items = doc.get("items")
    if not isinstance(raw_items, list):
        raise NotAFeedError("the JSON Feed has no items list")
    warnings: list[str] = []
    if len(raw_items) > MAX_ITEMS:
        warnings.append(f"feed has {len(raw_items)} items; kept the first {MAX_ITEMS}")
    home = doc.get("home_page_url")
    base = urljoin(base_url, home) if isinstance(home, str) and home else base_url
    items = [_json_item(raw, base) for raw in raw_items[:MAX_ITEMS] if isinstance(raw, dict)]
    return ParsedFeed(title=_str(doc.get("title")), link=base, items=items, warnings=warnings)


def _json_item(raw: dict[str, Any], base_url: str) -> FeedItem:
    html, plain = _str(raw.get("content_html")), _str(raw.get("content_text"))
    text = plain or (html_fragment_to_text(html) if html else "") or (_str(raw.get("summary")) or "")
    link = _str(raw.get("url"))
    authors = raw.get("authors") or ([raw["author"]] if isinstance(raw.get("author"), dict) else [])
    author = next((_str(a.get("name")) for a in authors if isinstance(a, dict) and a.get("name")), None)
    title = _str(raw.get("title"))
    guid = raw.get("id")
    return FeedItem(
        guid=str(guid) if guid not in (None, "") else None,
        link=urljoin(base_url, link) if link else None,
        title=title,
        author=author,
        published_at=_date(_str(raw.get("date_published")) or _str(raw.get("date_modified"))),
        text=text,
        content_hash=content_hash(f"{title or ''}\n{text}"),
    )


def _struct_time(value: Any) -> datetime | None:
    """feedparser's UTC time.struct_time as an aware datetime."""
    if not value:
        return None
    year, month, day, hour, minute, second = tuple(value)[:6]
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _deduplicated(feed: ParsedFeed) -> ParsedFeed:
    seen: set[str] = set()
    unique: list[FeedItem] = []
    for item in feed.items:
        key = dedupe_key(item)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    if len(unique) < len(feed.items):
        feed.warnings.append(f"{len(feed.items) - len(unique)} repeated items dropped")
    feed.items = unique
    return feed
