"""Syncing context sources: scrape a website, sync a feed, process a document, preview a URL.

Knows nothing of RQ: each function takes a store (ContextStore: the repository's methods it
needs), the fetch policy, a clock and an optional HTTP client, so tests pass real servers on
127.0.0.1 and a fixed `now`. `preview_*` run exactly the fetch and extraction code a sync runs
and store nothing.

Failures are classified once, here: errors a retry cannot fix (unsafe URL, not a feed, 4xx
other than 408/429, an encrypted, corrupt, oversized or unsupported document, a path outside
the documents root) become PermanentJobError, which the runner fails without retries; the
rest stay retryable JobProcessingError. Each failure counts once per job against the source.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urldefrag, urlsplit

from jobctl.domain.context import (
    NewItem,
    SourceKind,
    SourceRecord,
    UpsertCounts,
    content_hash,
    dedupe_key,
)
from jobctl.domain.errors import JobCancelledError, JobProcessingError, PermanentJobError
from jobctl.services.context import documents, errors, extract, feeds, fetch

Clock = Callable[[], datetime]
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, */*;q=0.5"
)
HTML_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
_RETRYABLE_STATUS = frozenset({408, 425, 429})


class ContextStore(Protocol):
    """What the syncs need of the store (jobctl.store.context_repo.ContextRepository)."""

    def get_source(self, source_id: str) -> SourceRecord | None: ...
    def add_source(
        self, organization_id: str, kind: SourceKind, url: str, name: str | None, now: datetime
    ) -> tuple[SourceRecord, bool]: ...
    def record_success(
        self,
        source_id: str,
        now: datetime,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        keep_validators: bool = False,
    ) -> None: ...
    def record_failure(self, source_id: str, job_id: str, error: str, now: datetime) -> Any: ...
    def move_source(self, source_id: str, new_url: str, now: datetime) -> bool: ...
    def disable_source(self, source_id: str, reason: str, now: datetime) -> None: ...
    def upsert_items(self, source: SourceRecord, items: Sequence[NewItem], now: datetime) -> UpsertCounts: ...
    def upsert_items_succeeded(
        self,
        source: SourceRecord,
        items: Sequence[NewItem],
        now: datetime,
        *,
        etag: str | None,
        last_modified: str | None,
    ) -> UpsertCounts: ...


@dataclass(frozen=True)
class SyncRun:
    """One job's view of a sync: who counts the failure, how to report progress."""

    job_id: str
    now: Clock
    progress: Callable[[str], None] = lambda _message: None  # also checks for cancellation


def classify(exc: BaseException) -> BaseException:
    """The job error for a service error: PermanentJobError when a retry cannot help."""
    if isinstance(exc, (JobProcessingError, JobCancelledError)):
        return exc
    permanent: tuple[type[BaseException], ...] = (
        fetch.UnsafeURLError,
        fetch.ResponseTooLargeError,
        fetch.UnsupportedContentTypeError,
        errors.NotAFeedError,
        extract.ExtractionError,
        documents.DocumentError,
    )
    if isinstance(exc, fetch.HTTPStatusError):
        status = int(exc.status)
        if 400 <= status < 500 and status not in _RETRYABLE_STATUS:
            return PermanentJobError(str(exc))
        return JobProcessingError(str(exc))
    if isinstance(exc, permanent):
        return PermanentJobError(str(exc))
    if isinstance(exc, fetch.FetchError):
        return JobProcessingError(str(exc))
    return exc


@contextmanager
def accounted(store: ContextStore, source: SourceRecord, run: SyncRun) -> Iterator[None]:
    """Count a failed sync against its source (once per job) and raise it classified.
    A cancelled job is not the source's failure."""
    try:
        yield
    except JobCancelledError:
        raise
    except Exception as exc:
        job_error = classify(exc)
        store.record_failure(source.id, run.job_id, str(job_error), run.now())
        if job_error is exc:
            raise
        raise job_error from exc


def resolve_source(
    store: ContextStore,
    organization_id: str,
    kind: SourceKind,
    *,
    source_id: str | None,
    url: str | None,
    now: datetime,
) -> SourceRecord:
    """The source a job names, or the organisation's source for its URL (created if new)."""
    if source_id is not None:
        source = store.get_source(source_id)
        if source is None or source.organization_id != organization_id:
            raise PermanentJobError(f"no context source {source_id!r} in organisation {organization_id!r}")
        if source.kind != kind:
            raise PermanentJobError(f"source {source_id} is a {source.kind.value} source, not {kind.value}")
        return source
    assert url is not None
    return store.add_source(organization_id, kind, url, None, now)[0]


# -- fetch + extraction (shared by jobs and `sources preview`) ---------------------------------


def fetch_article(url: str, *, policy: fetch.FetchPolicy, client: Any = None) -> tuple[Any, extract.Article]:
    result = fetch.fetch(url, policy=policy, accept=HTML_ACCEPT, client=client)
    return result, extract.extract_article(result.text(), url=result.url)


def fetch_feed(
    url: str,
    *,
    policy: fetch.FetchPolicy,
    etag: str | None = None,
    last_modified: str | None = None,
    client: Any = None,
) -> tuple[Any, feeds.ParsedFeed | None]:
    """The fetch result and the parsed feed (None for a 304 Not Modified)."""
    result = fetch.fetch(
        url, policy=policy, etag=etag, last_modified=last_modified, accept=FEED_ACCEPT, client=client
    )
    if result.status == 304:
        return result, None
    return result, feeds.parse_feed(result.body, headers=result.headers, base_url=result.url)


def preview(url: str, kind: str, *, policy: fetch.FetchPolicy, client: Any = None) -> dict[str, Any]:
    """What a sync of `url` would store, stored nowhere: an article, or a feed and its items."""
    if kind == "rss":
        _, parsed = fetch_feed(url, policy=policy, client=client)
        assert parsed is not None
        items = [_feed_item_json(i) for i in parsed.items]
        text = "\n".join(f"- {i['title'] or i['link'] or i['guid']}" for i in items)
        return {
            "kind": "rss",
            "url": url,
            "title": parsed.title,
            "author": None,
            "date": None,
            "text": text,
            "link": parsed.link,
            "items": items,
            "warnings": list(parsed.warnings),
        }
    result, article = fetch_article(url, policy=policy, client=client)
    return {
        "kind": "website",
        "url": result.url,
        "title": article.title,
        "author": article.author,
        "date": article.published_at.isoformat() if article.published_at else None,
        "text": article.text,
        "extractor": article.extractor,
        "content_type": result.content_type,
    }


def _feed_item_json(item: feeds.FeedItem) -> dict[str, Any]:
    return {
        "guid": item.guid,
        "link": item.link,
        "title": item.title,
        "author": item.author,
        "date": item.published_at.isoformat() if item.published_at else None,
        "text": item.text,
    }


# -- the three syncs ---------------------------------------------------------------------------


def sync_feed(
    store: ContextStore, source: SourceRecord, *, policy: fetch.FetchPolicy, run: SyncRun, client: Any = None
) -> dict[str, Any]:
    """Conditional GET; 304 = success with nothing new; 301 moves the source; 410 disables it."""
    with accounted(store, source, run):
        try:
            result, parsed = fetch_feed(
                source.url, policy=policy, etag=source.etag, last_modified=source.last_modified, client=client
            )
        except fetch.HTTPStatusError as exc:
            if int(exc.status) == 410:
                store.disable_source(source.id, f"the feed is gone (HTTP 410): {exc}", run.now())
            raise
        moved = _follow_permanent_redirect(store, source, result, run)
        if parsed is None:
            store.record_success(source.id, run.now(), keep_validators=True)
            run.progress("feed not modified (304): 0 new, 0 seen")
            return {"source_id": source.id, "not_modified": True, "new": 0, "seen": 0, "moved_to": moved}
        items = [
            NewItem(
                url=i.link,
                guid=i.guid,
                title=i.title,
                author=i.author,
                published_at=i.published_at,
                text=i.text,
                content_hash=i.content_hash,
                dedupe_key=dedupe_key(i.guid, i.link, i.content_hash),
            )
            for i in parsed.items
        ]
        counts = store.upsert_items_succeeded(
            source,
            items,
            run.now(),
            etag=result.headers.get("etag"),
            last_modified=result.headers.get("last-modified"),
        )
        run.progress(f"feed synced: {counts.new} new, {counts.seen} seen")
        return {
            "source_id": source.id,
            "not_modified": False,
            "new": counts.new,
            "seen": counts.seen,
            "warnings": list(parsed.warnings),
            "moved_to": moved,
        }


def _follow_permanent_redirect(
    store: ContextStore, source: SourceRecord, result: Any, run: SyncRun
) -> str | None:
    target = getattr(result, "permanent_redirect_to", None)
    if target and target != source.url and store.move_source(source.id, target, run.now()):
        run.progress(f"source moved permanently to {target}")
        return str(target)
    return None


def same_site(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, (pa.hostname or "").lower(), pa.port) == (
        pb.scheme,
        (pb.hostname or "").lower(),
        pb.port,
    )


def scrape_website(
    store: ContextStore,
    source: SourceRecord,
    *,
    policy: fetch.FetchPolicy,
    run: SyncRun,
    max_pages: int = 1,
    client: Any = None,
) -> dict[str, Any]:
    """The start page, then same-site links breadth-first up to max_pages, no URL twice.
    A later page that fails is skipped (and counted); the start page failing fails the job."""
    with accounted(store, source, run):
        start = urldefrag(source.url).url
        queue, seen = collections.deque([start]), {start}
        items: list[NewItem] = []
        fetched = failed = 0
        while queue and fetched + failed < max_pages:
            url = queue.popleft()
            try:
                result, article = fetch_article(url, policy=policy, client=client)
            except JobCancelledError:
                raise
            except Exception:
                if url == start:
                    raise
                failed += 1
                continue
            fetched += 1
            h = content_hash(article.text)
            items.append(
                NewItem(
                    url=result.url,
                    guid=None,
                    title=article.title,
                    author=article.author,
                    published_at=article.published_at,
                    text=article.text,
                    content_hash=h,
                    dedupe_key=dedupe_key(None, None, h),
                )
            )
            for href in article.links:
                if fetched + failed + len(queue) >= max_pages:
                    break  # enough pages queued: a page's dozens of links need no parsing then
                link = urldefrag(href).url
                if link not in seen and same_site(link, start):
                    seen.add(link)
                    queue.append(link)
            if max_pages > 1:  # a one-page scrape says it all in its closing line
                run.progress(f"pages fetched: {fetched} of at most {max_pages}")
        counts = store.upsert_items(source, items, run.now())
        store.record_success(source.id, run.now())
        run.progress(f"scraped: {fetched} pages, {counts.new} new, {counts.seen} seen")
        return {
            "source_id": source.id,
            "pages": fetched,
            "failed_pages": failed,
            "new": counts.new,
            "seen": counts.seen,
        }


def process_document(
    store: ContextStore,
    source: SourceRecord,
    *,
    policy: fetch.FetchPolicy,
    run: SyncRun,
    documents_root: Path | None,
    mime_type: str | None = None,
    client: Any = None,
) -> dict[str, Any]:
    """A document from a path under the documents root, or an http(s) URL, as text chunks."""
    with accounted(store, source, run):
        target = source.url
        if target.startswith(("http://", "https://")):
            result = fetch.fetch(target, policy=policy, client=client)
            data, filename = result.body, urlsplit(result.url).path.rsplit("/", 1)[-1] or None
            mime_type = mime_type or _content_type(result.headers)
        else:
            if documents_root is None:
                raise PermanentJobError(
                    "process-document got a path but no documents root is configured "
                    "([documents] root or JOBCTL_DOCUMENTS_ROOT)"
                )
            try:
                path = documents.path_under_root(target, documents_root)
                data, filename = path.read_bytes(), path.name
            except (ValueError, OSError) as exc:
                raise PermanentJobError(f"cannot read the document: {exc}") from None
        run.progress("document read, extracting text")
        doc = documents.extract_document(data, filename=filename, mime_type=mime_type)
        items = []
        for chunk in doc.chunks:
            h = content_hash(chunk)
            items.append(
                NewItem(
                    url=target,
                    guid=None,
                    title=doc.title,
                    author=None,
                    published_at=None,
                    text=chunk,
                    content_hash=h,
                    dedupe_key=dedupe_key(None, None, h),
                )
            )
        counts = store.upsert_items(source, items, run.now())
        store.record_success(source.id, run.now())
        run.progress(f"document: {len(items)} chunks, {counts.new} new, {counts.seen} seen")
        return {
            "source_id": source.id,
            "mime_type": doc.mime_type,
            "pages": doc.pages,
            "chunks": len(items),
            "new": counts.new,
            "seen": counts.seen,
        }


def _content_type(headers: Mapping[str, str]) -> str | None:
    value = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    return value.split(";", 1)[0].strip().lower() if value else None
