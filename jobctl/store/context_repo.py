"""ContextRepository: context sources, their sync health, and the items synced from them.

- `add_source` is idempotent per (organisation, url): the unique constraint decides, so two
  concurrent adds of one URL give one source and both callers its id.
- Failures count once per job id (the retries of one job are one failure); the source turns
  UNHEALTHY at exactly UNHEALTHY_AFTER, and its default schedules are paused in the same
  transaction, so its scheduled syncs stop. `enable` (or a successful sync) resumes them.
- `upsert_items` keeps an item once per (source, dedupe key): INSERT ... ON CONFLICT DO NOTHING
  with RETURNING (batched by SQLAlchemy within each backend's parameter limit), so concurrent
  syncs of one source cannot double an item.

Every method turns database outages into DatabaseUnavailableError (masked URL).
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError

from jobctl.domain.context import (
    UNHEALTHY_AFTER,
    ItemRecord,
    NewItem,
    SourceKind,
    SourceRecord,
    SourceStatus,
    UpsertCounts,
    new_item_id,
    new_source_id,
)
from jobctl.store.context_tables import ITEMS, SOURCES
from jobctl.store.db_errors import database_errors, translated
from jobctl.store.engine import SQLITE_IMMEDIATE, autocommit, engine_label
from jobctl.store.record_rows import utc
from jobctl.store.schedule_tables import SCHEDULES

P = ParamSpec("P")
R = TypeVar("R")
cs, ci, sc = SOURCES.c, ITEMS.c, SCHEDULES.c
OWNER_KIND = "context-source"  # jobctl.scheduler.defaults.CONTEXT_SOURCE (the store cannot import it)
_ERROR_MAX = 2000


def _source(row: Row[Any]) -> SourceRecord:
    m = row._mapping
    return SourceRecord(
        id=m["id"],
        organization_id=m["organization_id"],
        kind=SourceKind(m["kind"]),
        url=m["url"],
        name=m["name"],
        status=SourceStatus(m["status"]),
        consecutive_failures=m["consecutive_failures"],
        last_success_at=m["last_success_at"],
        last_failure_at=m["last_failure_at"],
        last_error=m["last_error"],
        last_failed_job_id=m["last_failed_job_id"],
        etag=m["etag"],
        last_modified=m["last_modified"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def _item(row: Row[Any]) -> ItemRecord:
    m = row._mapping
    return ItemRecord(
        id=m["id"],
        source_id=m["source_id"],
        organization_id=m["organization_id"],
        url=m["url"],
        guid=m["guid"],
        title=m["title"],
        author=m["author"],
        published_at=m["published_at"],
        text=m["text"],
        content_hash=m["content_hash"],
        fetched_at=m["fetched_at"],
    )


_JSON_COLUMNS = (
    ("id", "text"), ("url", "text"), ("guid", "text"), ("dedupe_key", "text"), ("title", "text"),
    ("author", "text"), ("published_at", "timestamptz"), ("text", "text"), ("content_hash", "text"),
)  # fmt: skip
# PostgreSQL: all items of a batch in one short statement, the rows as one JSON parameter. A
# multi-row VALUES statement (12 parameters a row) is too long for psycopg's statement cache,
# so psycopg re-parsed its ~12 KB of SQL for every feed (most of an upsert's CPU, py-spy); and
# one array parameter per column had psycopg escape every text element in Python. json.dumps
# runs in C.
_PG_UPSERT = text(
    f"INSERT INTO {ITEMS.name} (id, source_id, organization_id, url, guid, dedupe_key, title, author, "
    "published_at, text, content_hash, fetched_at) "
    "SELECT u.id, CAST(:source_id AS varchar), CAST(:organization_id AS varchar), u.url, u.guid, "
    "u.dedupe_key, u.title, u.author, u.published_at, u.text, u.content_hash, "
    "CAST(:fetched_at AS timestamptz) FROM json_to_recordset(CAST(:rows AS json)) AS u("
    + ", ".join(f"{name} {kind}" for name, kind in _JSON_COLUMNS)
    + ") ON CONFLICT (source_id, dedupe_key) DO NOTHING RETURNING id"
)


# A feed sync's items and its success in one statement (one round trip, one commit): the
# INSERT above and record_success's plain UPDATE as data-modifying CTEs, which PostgreSQL runs
# once each whether or not the SELECT reads them. An UNHEALTHY source is left to
# record_success's transaction (its revival also resumes its schedules).
_PG_UPSERT_SUCCESS = text(
    "WITH new_items AS ("
    + _PG_UPSERT.text
    + "), ok AS (UPDATE "
    + SOURCES.name
    + " SET consecutive_failures = 0, last_failed_job_id = NULL, "
    "last_success_at = CAST(:fetched_at AS timestamptz), updated_at = CAST(:fetched_at AS timestamptz), "
    "etag = CAST(:etag AS varchar), last_modified = CAST(:last_modified AS varchar) "
    "WHERE id = CAST(:source_id AS varchar) AND status <> :unhealthy RETURNING id) "
    "SELECT (SELECT count(*) FROM new_items) AS new, (SELECT count(*) FROM ok) AS succeeded"
)


def _no_nul(value: str | None) -> str | None:
    """Text without NUL characters, which neither backend's text columns take."""
    return value.replace("\x00", "") if value and "\x00" in value else value


def _pg_params(source: SourceRecord, items: Iterable[NewItem], now: datetime) -> dict[str, Any]:
    """The JSON rows of _PG_UPSERT, made from the items directly (see _item_row)."""
    batch = [
        {
            "id": new_item_id(),
            "url": item.url,
            "guid": item.guid,
            "dedupe_key": item.dedupe_key,
            "title": _no_nul(item.title),
            "author": _no_nul((item.author or None) and item.author[:500]),
            "published_at": utc(item.published_at).isoformat() if item.published_at else None,
            "text": _no_nul(item.text) or "",
            "content_hash": item.content_hash,
        }
        for item in items
    ]
    return {
        "rows": json.dumps(batch, ensure_ascii=False),
        "source_id": source.id,
        "organization_id": source.organization_id,
        "fetched_at": now,
    }


def _unique(items: Sequence[NewItem]) -> list[NewItem]:
    """The items once per dedupe key (the same item twice in one feed counts once)."""
    unique: dict[str, NewItem] = {}
    for item in items:
        unique.setdefault(item.dedupe_key, item)
    return list(unique.values())


class ContextRepository:
    """The context tables over one Engine (thread-safe: each call checks out a connection)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._auto = autocommit(engine)
        self._label = engine_label(engine)
        self._db_errors = database_errors()
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self._upsert_stmt = (
            self._insert(ITEMS)
            .on_conflict_do_nothing(index_elements=[ci.source_id, ci.dedupe_key])
            .returning(ci.id)
        )
        # Built once, the values bound per call: a statement built with .values() per call
        # paid SQLAlchemy's cache-key walk over it at every sync (one per sync-rss job).
        self._add_source_stmt = self._insert(SOURCES).on_conflict_do_nothing().returning(*SOURCES.c)

    def _transaction(self) -> Any:
        return self._engine.connect().execution_options(**{SQLITE_IMMEDIATE: True})

    # -- sources -------------------------------------------------------------------------------

    @translated
    def add_source(
        self, organization_id: str, kind: SourceKind, url: str, name: str | None, now: datetime
    ) -> tuple[SourceRecord, bool]:
        """The source of (organisation, url), created if new; (record, created)."""
        now = utc(now)
        values = {
            "id": new_source_id(),
            "organization_id": organization_id,
            "kind": kind.value,
            "url": url,
            "name": name,
            "status": SourceStatus.ACTIVE.value,
            "consecutive_failures": 0,
            "created_at": now,
            "updated_at": now,
        }
        with self._auto.connect() as conn:
            row = conn.execute(self._add_source_stmt, values).first()
        if row is not None:  # created: the returned row is the record (one round trip)
            return _source(row), True
        record = self.find_source(organization_id, url)
        assert record is not None
        return record, False

    @translated
    def get_source(self, source_id: str) -> SourceRecord | None:
        with self._auto.connect() as conn:
            row = conn.execute(select(SOURCES).where(cs.id == source_id)).first()
        return _source(row) if row is not None else None

    @translated
    def find_source(self, organization_id: str, url: str) -> SourceRecord | None:
        stmt = select(SOURCES).where(cs.organization_id == organization_id, cs.url == url)
        with self._auto.connect() as conn:
            row = conn.execute(stmt).first()
        return _source(row) if row is not None else None

    @translated
    def list_sources(
        self,
        *,
        organization_id: str | None = None,
        status: SourceStatus | None = None,
        kind: SourceKind | None = None,
        limit: int | None = None,
    ) -> builtins.list[SourceRecord]:
        stmt = select(SOURCES).order_by(cs.organization_id, cs.created_at, cs.id)
        if organization_id is not None:
            stmt = stmt.where(cs.organization_id == organization_id)
        if status is not None:
            stmt = stmt.where(cs.status == status.value)
        if kind is not None:
            stmt = stmt.where(cs.kind == kind.value)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._auto.connect() as conn:
            return [_source(r) for r in conn.execute(stmt)]

    @translated
    def delete_source(self, source_id: str) -> bool:
        """Remove a source and its items (its default schedules are removed by the caller)."""
        with self._transaction() as conn, conn.begin():
            conn.execute(delete(ITEMS).where(ci.source_id == source_id))
            return bool(conn.execute(delete(SOURCES).where(cs.id == source_id)).rowcount == 1)

    @translated
    def set_status(self, source_id: str, status: SourceStatus, now: datetime) -> SourceRecord | None:
        """ACTIVE resets the failure count and resumes the source's schedules; the others pause them."""
        now = utc(now)
        values: dict[str, Any] = {"status": status.value, "updated_at": now}
        if status == SourceStatus.ACTIVE:
            values.update(consecutive_failures=0, last_failed_job_id=None)
        with self._transaction() as conn, conn.begin():
            if conn.execute(update(SOURCES).where(cs.id == source_id).values(values)).rowcount != 1:
                return None
            self._schedules_enabled(conn, source_id, status == SourceStatus.ACTIVE, now)
        return self.get_source(source_id)

    @staticmethod
    def _schedules_enabled(conn: Connection, source_id: str, enabled: bool, now: datetime) -> None:
        values: dict[str, Any] = {"enabled": enabled, "updated_at": now}
        stmt = update(SCHEDULES).where(sc.owner_kind == OWNER_KIND, sc.owner_id == source_id)
        if enabled:
            values["active_since"] = now  # a pause is not downtime to catch up
        conn.execute(stmt.where(sc.enabled.is_(not enabled)).values(values))

    # -- sync outcomes -------------------------------------------------------------------------

    @translated
    def record_success(
        self,
        source_id: str,
        now: datetime,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        keep_validators: bool = False,
    ) -> None:
        """A sync succeeded: the failure count resets, an UNHEALTHY source is ACTIVE again.
        `keep_validators` (a 304): the stored etag/last_modified stay as they are."""
        now = utc(now)
        values: dict[str, Any] = {
            "consecutive_failures": 0,
            "last_failed_job_id": None,
            "last_success_at": now,
            "updated_at": now,
        }
        if not keep_validators:
            values.update(etag=etag, last_modified=last_modified)
        # The common case (the source was not UNHEALTHY) is one autocommit statement; only a
        # revival needs the transaction that also resumes the schedules. Saves BEGIN, COMMIT
        # and a statement per sync (a scrape of one page is ~15 ms of work in all).
        with self._auto.connect() as conn:
            plain = update(SOURCES).where(cs.id == source_id, cs.status != SourceStatus.UNHEALTHY.value)
            if conn.execute(plain.values(values)).rowcount == 1:
                return
        with self._transaction() as conn, conn.begin():
            conn.execute(update(SOURCES).where(cs.id == source_id).values(values))
            revived = conn.execute(
                update(SOURCES)
                .where(cs.id == source_id, cs.status == SourceStatus.UNHEALTHY.value)
                .values(status=SourceStatus.ACTIVE.value)
            ).rowcount
            if revived:
                self._schedules_enabled(conn, source_id, True, now)

    @translated
    def record_failure(self, source_id: str, job_id: str, error: str, now: datetime) -> SourceRecord | None:
        """A sync failed. Counted once per job id; at UNHEALTHY_AFTER an ACTIVE source turns
        UNHEALTHY and its schedules pause. Returns the source as it now is."""
        now = utc(now)
        with self._transaction() as conn, conn.begin():
            current = select(cs.status, cs.consecutive_failures, cs.last_failed_job_id).where(
                cs.id == source_id
            )
            row = conn.execute(current.with_for_update() if self._pg else current).first()
            if row is None:
                return None
            failures = row.consecutive_failures
            if row.last_failed_job_id != job_id:
                failures += 1
            values: dict[str, Any] = {
                "consecutive_failures": failures,
                "last_failed_job_id": job_id,
                "last_failure_at": now,
                "last_error": error[:_ERROR_MAX],
                "updated_at": now,
            }
            if row.status == SourceStatus.ACTIVE.value and failures >= UNHEALTHY_AFTER:
                values["status"] = SourceStatus.UNHEALTHY.value
                self._schedules_enabled(conn, source_id, False, now)
            conn.execute(update(SOURCES).where(cs.id == source_id).values(values))
        return self.get_source(source_id)

    @property
    def _pg(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    @translated
    def move_source(self, source_id: str, new_url: str, now: datetime) -> bool:
        """A permanent redirect: the source follows its new URL (False if the organisation
        already has a source at that URL, which then stays the one place for it)."""
        try:
            with self._auto.connect() as conn:
                stmt = update(SOURCES).where(cs.id == source_id).values(url=new_url, updated_at=utc(now))
                return bool(conn.execute(stmt).rowcount == 1)
        except IntegrityError:
            return False

    @translated
    def disable_source(self, source_id: str, reason: str, now: datetime) -> None:
        """The source is gone for good (HTTP 410): DISABLED, schedules paused, reason kept."""
        now = utc(now)
        values = {"status": SourceStatus.DISABLED.value, "last_error": reason[:_ERROR_MAX], "updated_at": now}
        with self._transaction() as conn, conn.begin():
            conn.execute(update(SOURCES).where(cs.id == source_id).values(values))
            self._schedules_enabled(conn, source_id, False, now)

    # -- items ---------------------------------------------------------------------------------

    @translated
    def upsert_items(self, source: SourceRecord, items: Sequence[NewItem], now: datetime) -> UpsertCounts:
        """Keep each item once per (source, dedupe key); (new, seen) counts of this batch."""
        now = utc(now)
        unique = _unique(items)
        if not unique:
            return UpsertCounts(new=0, seen=len(items))
        with self._auto.connect() as conn:
            if self._pg:
                new = len(conn.execute(_PG_UPSERT, _pg_params(source, unique, now)).all())
            else:
                # One cached statement as executemany: SQLAlchemy batches it into multi-row
                # INSERTs within SQLite's parameter limit ("insertmanyvalues", RETURNING too).
                rows = [self._item_row(source, item, now) for item in unique]
                new = len(conn.execute(self._upsert_stmt, rows).all())
        return UpsertCounts(new=new, seen=len(items) - new)

    @translated
    def upsert_items_succeeded(
        self,
        source: SourceRecord,
        items: Sequence[NewItem],
        now: datetime,
        *,
        etag: str | None,
        last_modified: str | None,
    ) -> UpsertCounts:
        """upsert_items, then record_success with these validators; on PostgreSQL one
        statement (a feed sync's items and source row were two round trips and two commits)."""
        now = utc(now)
        unique = _unique(items)
        if not self._pg or not unique:
            counts = self.upsert_items(source, items, now)
            self.record_success(source.id, now, etag=etag, last_modified=last_modified)
            return counts
        params = _pg_params(source, unique, now)
        params.update(etag=etag, last_modified=last_modified, unhealthy=SourceStatus.UNHEALTHY.value)
        with self._auto.connect() as conn:
            new, succeeded = conn.execute(_PG_UPSERT_SUCCESS, params).one()
        if not succeeded:  # UNHEALTHY (or gone): the revival path, in its transaction
            self.record_success(source.id, now, etag=etag, last_modified=last_modified)
        return UpsertCounts(new=int(new), seen=len(items) - int(new))

    @staticmethod
    def _item_row(source: SourceRecord, item: NewItem, now: datetime) -> dict[str, Any]:
        return {
            "id": new_item_id(),
            "source_id": source.id,
            "organization_id": source.organization_id,
            "url": item.url,
            "guid": item.guid,
            "dedupe_key": item.dedupe_key,
            "title": _no_nul(item.title),
            "author": _no_nul((item.author or None) and item.author[:500]),
            "published_at": utc(item.published_at) if item.published_at else None,
            "text": _no_nul(item.text) or "",
            "content_hash": item.content_hash,
            "fetched_at": now,
        }

    @translated
    def get_item(self, item_id: str) -> ItemRecord | None:
        with self._auto.connect() as conn:
            row = conn.execute(select(ITEMS).where(ci.id == item_id)).first()
        return _item(row) if row is not None else None

    @translated
    def list_items(
        self,
        *,
        organization_id: str | None = None,
        source_id: str | None = None,
        since: datetime | None = None,
        limit: int = 50,
    ) -> builtins.list[ItemRecord]:
        """Newest first (by fetch time)."""
        stmt = select(ITEMS).order_by(ci.fetched_at.desc(), ci.id.desc()).limit(limit)
        if organization_id is not None:
            stmt = stmt.where(ci.organization_id == organization_id)
        if source_id is not None:
            stmt = stmt.where(ci.source_id == source_id)
        if since is not None:
            stmt = stmt.where(ci.fetched_at >= utc(since))
        with self._auto.connect() as conn:
            return [_item(r) for r in conn.execute(stmt)]

    @translated
    def count_items(self, source_id: str) -> int:
        from sqlalchemy import func

        with self._auto.connect() as conn:
            return int(conn.execute(select(func.count()).where(ci.source_id == source_id)).scalar_one())
