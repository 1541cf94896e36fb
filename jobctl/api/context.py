"""Context sources and items for the CLI and library users: add, list, show, enable, disable,
remove, sync now, items, and preview (the job's own fetch + extraction, storing nothing).

Adding a source creates its default schedule (a sync every 6 hours, staggered by a hash of its
id) through the generic default-schedule mechanism; removing it removes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jobctl.api.jobs import JobctlAPI
from jobctl.domain.context import (
    ItemNotFoundError,
    ItemRecord,
    PreviewFailedError,
    SourceInputError,
    SourceKind,
    SourceNotFoundError,
    SourceRecord,
    SourceStatus,
)
from jobctl.domain.records import JobRecord
from jobctl.domain.timeparse import utcnow
from jobctl.scheduler import defaults
from jobctl.store.context_repo import ContextRepository

PRIVATE_HINT = (
    " (private addresses are allowed only with [fetch] allow_private_addresses = true"
    " or JOBCTL_FETCH_ALLOW_PRIVATE=1)"
)


@dataclass(frozen=True)
class AddResult:
    source: SourceRecord
    created: bool


@dataclass(frozen=True)
class SourceDetail:
    source: SourceRecord
    item_count: int
    schedules: list[dict[str, Any]]  # name, job_type, cron, enabled

    def to_json(self) -> dict[str, Any]:
        return {**self.source.to_json(), "item_count": self.item_count, "schedules": self.schedules}


def source_owner(source: SourceRecord) -> defaults.Owner:
    """The default-schedule owner of a source: its sync job type and its staggered fire time."""
    fields = {"job_type": source.kind.job_type, **defaults.stagger_fields(source.id)}
    return defaults.Owner(defaults.CONTEXT_SOURCE, source.id, source.organization_id, fields)


def active_source_owners(api: JobctlAPI) -> list[defaults.Owner]:
    """For `schedules install-defaults`: every ACTIVE source (paused ones keep their schedule)."""
    with api.backends.errors():
        sources = ContextRepository(api.backends.engine).list_sources(status=SourceStatus.ACTIVE)
    return [source_owner(s) for s in sources]


@dataclass
class ContextAPI:
    api: JobctlAPI

    @cached_property
    def repo(self) -> ContextRepository:
        with self.api.backends.errors():
            return ContextRepository(self.api.backends.engine)

    def _schedules(self) -> Any:
        from jobctl.api.schedules import ScheduleAPI

        return ScheduleAPI(self.api)

    # -- sources -------------------------------------------------------------------------------

    def add(self, kind: str, target: str, organization_id: str, name: str | None = None) -> AddResult:
        """The organisation's source for `target` (a URL, or a document path under the root)."""
        source_kind = SourceKind.parse(kind)
        target = self._normalise_target(source_kind, target.strip())
        if not organization_id.strip():
            raise SourceInputError("--org must not be empty")
        with self.api.backends.errors():
            source, created = self.repo.add_source(
                organization_id.strip(), source_kind, target, name, utcnow()
            )
        if created:
            self._schedules().install_defaults_for(source_owner(source))
        return AddResult(source, created)

    def _normalise_target(self, kind: SourceKind, target: str) -> str:
        parts = urlsplit(target)
        if parts.scheme in ("http", "https"):
            if not parts.hostname:
                raise SourceInputError(f"{target!r} is not a URL with a host")
            if parts.username or parts.password:
                raise SourceInputError("source URLs must not contain credentials (user:password@)")
            self._refuse_literal_address(target, parts.hostname)
            return target
        if kind != SourceKind.DOCUMENT:
            raise SourceInputError(f"a {kind.value.lower()} source needs an http:// or https:// URL")
        if parts.scheme and len(parts.scheme) > 1:
            raise SourceInputError(f"unsupported URL scheme {parts.scheme!r} (use http, https or a path)")
        root = self.api.settings.documents_root
        if root is None:
            raise SourceInputError(
                "document paths need a documents root: set [documents] root or JOBCTL_DOCUMENTS_ROOT"
            )
        path = Path(target).expanduser()
        path = (path if path.is_absolute() else root / path).resolve()
        if not path.is_relative_to(root.resolve()):
            raise SourceInputError(f"{target!r} is outside the documents root {root}")
        return str(path)

    def _refuse_literal_address(self, target: str, host: str) -> None:
        """A URL naming a refused address outright (`http://127.1/`) is refused when added, not
        at its first sync; host names are resolved, and checked, by each fetch."""
        from jobctl.services.context.addresses import parse_numeric_host, refusal_reason

        if self.api.settings.fetch_allow_private_addresses:
            return
        ip = parse_numeric_host(host)
        why = refusal_reason(ip) if ip is not None else None
        if why is not None:
            raise SourceInputError(f"refused {target}: {ip} is not a public address ({why}){PRIVATE_HINT}")

    def get(self, source_id: str) -> SourceRecord:
        with self.api.backends.errors():
            source = self.repo.get_source(source_id)
        if source is None:
            raise SourceNotFoundError(source_id)
        return source

    def show(self, source_id: str) -> SourceDetail:
        """A source with its item count and its default schedules (paused while UNHEALTHY)."""
        source = self.get(source_id)
        with self.api.backends.errors():
            count = self.repo.count_items(source_id)
            owned = self._schedules().repo.list(owner=(defaults.CONTEXT_SOURCE, source_id))
        schedules = [
            {"name": r.name, "job_type": r.job_type, "cron": r.cron, "enabled": r.enabled} for r in owned
        ]
        return SourceDetail(source, count, schedules)

    def list_sources(
        self, organization_id: str | None = None, status: str | None = None
    ) -> list[SourceRecord]:
        wanted = SourceStatus.parse(status) if status else None
        with self.api.backends.errors():
            return self.repo.list_sources(organization_id=organization_id, status=wanted)

    def set_status(self, source_id: str, status: SourceStatus) -> SourceRecord:
        """enable (ACTIVE: failures reset, schedules resume) or disable (schedules pause)."""
        self.get(source_id)
        with self.api.backends.errors():
            source = self.repo.set_status(source_id, status, utcnow())
        if source is None:
            raise SourceNotFoundError(source_id)
        if status == SourceStatus.ACTIVE:
            self._schedules().install_defaults_for(source_owner(source))  # a schedule removed by hand
        return source

    def remove(self, source_id: str) -> tuple[SourceRecord, list[str]]:
        """Delete a source, its items and its default schedules; (source, schedule names removed)."""
        source = self.get(source_id)
        removed = self._schedules().remove_defaults_for(defaults.CONTEXT_SOURCE, source_id)
        with self.api.backends.errors():
            if not self.repo.delete_source(source_id):
                raise SourceNotFoundError(source_id)
        return source, removed

    def sync(self, source_id: str) -> JobRecord:
        """Enqueue a sync of the source now (its kind's job type), through the ordinary enqueue."""
        source = self.get(source_id)
        if source.status == SourceStatus.DISABLED:
            from jobctl.domain.errors import InvalidTransitionError

            raise InvalidTransitionError(
                f"source {source_id} is DISABLED; `jobctl sources enable {source_id}` first"
            )
        payload = {"source_id": source.id}
        return self.api.enqueue_job(source.kind.job_type, payload, organization_id=source.organization_id)

    # -- items ---------------------------------------------------------------------------------

    def items(
        self,
        organization_id: str | None = None,
        source_id: str | None = None,
        since: datetime | None = None,
        limit: int = 50,
    ) -> list[ItemRecord]:
        with self.api.backends.errors():
            return self.repo.list_items(
                organization_id=organization_id, source_id=source_id, since=since, limit=limit
            )

    def item(self, item_id: str) -> ItemRecord:
        with self.api.backends.errors():
            item = self.repo.get_item(item_id)
        if item is None:
            raise ItemNotFoundError(item_id)
        return item


FEED_CONTENT_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/feed+json",
        "application/xml",
        "text/xml",
    }
)


def preview(api: JobctlAPI, url: str, kind: str | None = None) -> dict[str, Any]:
    """Fetch and extract `url` exactly as a sync job of `kind` does; store nothing.

    `kind` None: as a website, unless the response's content type is a feed's; then as a feed
    (a second fetch, exactly a feed sync's), falling back to the page when it does not parse.
    A URL the SSRF guard refuses (scheme, address) is bad input: SourceInputError. A fetch or
    extraction that fails (HTTP error, timeout, too large, not a feed, no article) is
    PreviewFailedError; anything else is a bug and propagates as one."""
    if kind is not None and kind not in ("website", "rss"):
        raise SourceInputError(f"--kind must be website or rss, not {kind!r}")
    result = _preview(api, url, kind or "website")
    if kind is None and result.get("content_type") in FEED_CONTENT_TYPES:
        try:
            return _preview(api, url, "rss")
        except PreviewFailedError:
            return result
    return result


def _preview(api: JobctlAPI, url: str, kind: str) -> dict[str, Any]:
    from jobctl.domain.errors import JobProcessingError
    from jobctl.processors.context_support import policy_for
    from jobctl.services.context.fetch import UnsafeURLError
    from jobctl.services.context.sync import classify
    from jobctl.services.context.sync import preview as run_preview

    try:
        return run_preview(url, kind, policy=policy_for(api.settings))
    except UnsafeURLError as exc:
        hint = "" if api.settings.fetch_allow_private_addresses or "address" not in str(exc) else PRIVATE_HINT
        raise SourceInputError(f"{exc}{hint}") from None
    except Exception as exc:
        classified = classify(exc)
        if not isinstance(classified, JobProcessingError):
            raise
        raise PreviewFailedError(f"preview failed: {classified}") from None
