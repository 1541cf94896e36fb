"""Context sources and the items synced from them: kinds, statuses, records, dedupe keys.

Pure (no I/O): the store maps rows to these records, the services and the CLI read them.
A source turns UNHEALTHY after UNHEALTHY_AFTER consecutive failed syncs, counted once per job
(the retries of one job are one failure); a success resets the count.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from jobctl.domain.errors import ExitCode, JobctlError

UNHEALTHY_AFTER = 5
"""Consecutive failed syncs (one per job) after which a source is UNHEALTHY."""


class SourceKind(StrEnum):
    WEBSITE = "WEBSITE"
    RSS = "RSS"
    DOCUMENT = "DOCUMENT"

    @property
    def job_type(self) -> str:
        """The job type that syncs a source of this kind."""
        return _JOB_TYPES[self]

    @classmethod
    def parse(cls, text: str) -> SourceKind:
        value = text.strip().upper()
        if value == "FEED":
            value = "RSS"
        try:
            return cls(value)
        except ValueError:
            raise SourceInputError(f"unknown source kind {text!r} (use rss, website or document)") from None


_JOB_TYPES = {
    SourceKind.WEBSITE: "scrape-website",
    SourceKind.RSS: "sync-rss",
    SourceKind.DOCUMENT: "process-document",
}


class SourceStatus(StrEnum):
    ACTIVE = "ACTIVE"
    UNHEALTHY = "UNHEALTHY"
    DISABLED = "DISABLED"

    @classmethod
    def parse(cls, text: str) -> SourceStatus:
        try:
            return cls(text.strip().upper())
        except ValueError:
            raise SourceInputError(
                f"unknown source status {text!r} (use active, unhealthy or disabled)"
            ) from None


class SourceInputError(JobctlError):
    title = "invalid input"
    exit_code = ExitCode.INVALID_INPUT


class PreviewFailedError(JobctlError):
    """`sources preview`: the fetch or the extraction failed (HTTP error, timeout, not a feed).
    A URL the SSRF guard refuses is bad input instead (SourceInputError)."""

    title = "preview failed"
    exit_code = ExitCode.FETCH_FAILED


class SourceNotFoundError(JobctlError):
    title = "source not found"
    exit_code = ExitCode.NOT_FOUND

    def __init__(self, source_id: str) -> None:
        self.source_id = source_id
        super().__init__(f"no context source with id {source_id!r}")


class ItemNotFoundError(JobctlError):
    title = "item not found"
    exit_code = ExitCode.NOT_FOUND

    def __init__(self, item_id: str) -> None:
        self.item_id = item_id
        super().__init__(f"no context item with id {item_id!r}")


def new_source_id() -> str:
    return f"src_{uuid.uuid4().hex[:20]}"


def new_item_id() -> str:
    return f"itm_{uuid.uuid4().hex[:20]}"


def content_hash(text: str) -> str:
    """sha256 of the whitespace-normalised text: the same article with other spacing is one item."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


def dedupe_key(guid: str | None, link: str | None, text_hash: str) -> str:
    """An item's identity within its source: its guid, else its link, else its content hash."""
    if guid and guid.strip():
        basis = "guid:" + guid.strip()
    elif link and link.strip():
        basis = "link:" + link.strip()
    else:
        basis = "hash:" + text_hash
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SourceRecord:
    id: str
    organization_id: str
    kind: SourceKind
    url: str  # an http(s) URL, or a path (DOCUMENT sources under the documents root)
    name: str | None
    status: SourceStatus
    consecutive_failures: int
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None
    last_failed_job_id: str | None
    etag: str | None
    last_modified: str | None
    created_at: datetime
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "organization_id": self.organization_id, "kind": self.kind.value,
            "url": self.url, "name": self.name, "status": self.status.value,
            "consecutive_failures": self.consecutive_failures,
            "last_success_at": _iso(self.last_success_at), "last_failure_at": _iso(self.last_failure_at),
            "last_error": self.last_error, "etag": self.etag, "last_modified": self.last_modified,
            "created_at": _iso(self.created_at), "updated_at": _iso(self.updated_at),
        }  # fmt: skip


@dataclass(frozen=True)
class NewItem:
    """An item as a sync produced it; the store assigns its id and keeps it once per dedupe key."""

    url: str | None
    guid: str | None
    title: str | None
    author: str | None
    published_at: datetime | None
    text: str
    content_hash: str
    dedupe_key: str


@dataclass(frozen=True)
class ItemRecord:
    id: str
    source_id: str
    organization_id: str
    url: str | None
    guid: str | None
    title: str | None
    author: str | None
    published_at: datetime | None
    text: str
    content_hash: str
    fetched_at: datetime

    def to_json(self, *, full_text: bool = True) -> dict[str, Any]:
        return {
            "id": self.id, "source_id": self.source_id, "organization_id": self.organization_id,
            "url": self.url, "guid": self.guid, "title": self.title, "author": self.author,
            "published_at": _iso(self.published_at), "content_hash": self.content_hash,
            "fetched_at": _iso(self.fetched_at),
            "text": self.text if full_text else self.text[:200],
        }  # fmt: skip


@dataclass(frozen=True)
class UpsertCounts:
    new: int
    seen: int


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
