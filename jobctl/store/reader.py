"""Read jobs straight through the database driver, without loading SQLAlchemy.

Why: a one-shot `jobctl jobs list` spent 250 ms of its 500 ms importing SQLAlchemy and
SQLModel to run one indexed SELECT that takes under a millisecond. This reader serves the
read-only commands (`jobs list`, `jobs show` and its attempt timeline) with sqlite3 / psycopg
alone: the same columns, the same filter and order as the repository's list statement
(jobs_sql.list_statement; a test checks both return the same records for every filter kind,
on both backends), records built by the same field readers (record_rows, attempt_rows).

It declines (`open_reader` returns None) rather than guess whenever the full store is the
right tool: a URL form it does not know, a SQLite file that does not exist yet, a schema not
at this jobctl's revision (the store then creates, migrates or refuses, with its messages).
Connection errors are raised as the driver's own: the caller's error translation names them.
"""

from __future__ import annotations

import builtins
import json
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast
from urllib.parse import quote

from jobctl.domain.attempts import AttemptRecord
from jobctl.domain.records import FieldReaders, JobFilter, JobRecord, deferred_records
from jobctl.store.attempt_rows import ATTEMPT_COLUMN_NAMES, to_attempt
from jobctl.store.record_rows import (
    DATETIME_COLUMNS,
    JSON_COLUMNS,
    RECORD_COLUMN_NAMES,
    _aware_to_utc,
    _sqlite_text_to_utc,
    record_fields,
    utc,
)
from jobctl.store.revision import HEAD_REVISION

_SELECT = f"SELECT {', '.join(RECORD_COLUMN_NAMES)} FROM jobs"
_ATTEMPTS = f"SELECT {', '.join(ATTEMPT_COLUMN_NAMES)} FROM job_attempts WHERE job_id = "
_ORDER = " ORDER BY created_at DESC, id DESC"


class JobReader:
    """One driver connection in autocommit mode and the SQL dialect's details. Safe to share
    between threads (a long-lived API object may be called from a dashboard's workers): one
    statement at a time, under a lock."""

    def __init__(self, connection: Any, placeholder: str, fields: FieldReaders, sqlite: bool) -> None:
        self._conn = connection
        self._lock = threading.Lock()
        self._p = placeholder
        self._fields = fields
        self._sqlite = sqlite
        self._to_utc: Callable[[Any], datetime | None] = _sqlite_text_to_utc if sqlite else _aware_to_utc

    def list(self, flt: JobFilter) -> list[JobRecord]:
        """Jobs matching `flt`, newest first (created_at DESC, id DESC), like JobRepository.list."""
        where: list[str] = []
        params: list[Any] = []
        for column, values in (
            ("status", [s.value for s in flt.statuses]),
            ("type", list(flt.types)),
            ("queue", list(flt.queues)),
        ):
            if len(values) == 1:
                where.append(f"{column} = {self._p}")
            elif values:
                where.append(f"{column} IN ({', '.join([self._p] * len(values))})")
            params += values
        if flt.organization_id is not None:
            where.append(f"organization_id = {self._p}")
            params.append(flt.organization_id)
        if flt.schedule_id is not None:
            where.append(f"schedule_id = {self._p}")
            params.append(flt.schedule_id)
        if flt.since is not None:
            where.append(f"created_at >= {self._p}")
            params.append(self._time(flt.since))
        if flt.before is not None:
            where.append(f"(created_at, id) < ({self._p}, {self._p})")
            params += [self._time(flt.before[0]), flt.before[1]]
        sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "") + _ORDER
        if flt.limit > 0:
            sql += f" LIMIT {int(flt.limit)}"
        return deferred_records(self._fetch(sql, params), self._fields)

    def get(self, job_id: str) -> JobRecord | None:
        rows = self._fetch(f"{_SELECT} WHERE id = {self._p}", [job_id])
        return deferred_records(rows, self._fields)[0] if rows else None

    def attempts(self, job_id: str) -> builtins.list[AttemptRecord]:
        """Every recorded execution of `job_id`, first attempt first, like JobRepository.attempts."""
        rows = self._fetch(f"{_ATTEMPTS}{self._p} ORDER BY attempt", [job_id])
        return [to_attempt(row, self._to_utc) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _fetch(self, sql: str, params: builtins.list[Any]) -> builtins.list[Any]:
        with self._lock:
            return cast(builtins.list[Any], self._conn.execute(sql, params).fetchall())

    def _time(self, value: datetime) -> Any:
        value = utc(value)
        # SQLite stores naive UTC text in SQLAlchemy's fixed-width format; compare alike.
        return value.strftime("%Y-%m-%d %H:%M:%S.%f") if self._sqlite else value


def open_reader(url: str) -> JobReader | None:
    """A reader for `url`, or None when the full store must handle it (see the module doc)."""
    if url.startswith("sqlite:///") and "?" not in url and url != "sqlite:///:memory:":
        return _sqlite_reader(url.removeprefix("sqlite:///"))
    for scheme in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(scheme):
            return _pg_reader("postgresql://" + url.removeprefix(scheme))
    return None


def _sqlite_reader(path: str) -> JobReader | None:
    import sqlite3

    try:  # mode=rw: never create the file (the store creates and migrates a new one)
        conn = sqlite3.connect(
            f"file:{quote(path)}?mode=rw", uri=True, timeout=10, isolation_level=None, check_same_thread=False
        )
    except sqlite3.OperationalError:
        return None
    processors = _processors(_sqlite_text_to_utc, json.loads)
    return _checked(JobReader(conn, "?", record_fields(processors), sqlite=True), conn, sqlite3.Error)


def _pg_reader(conninfo: str) -> JobReader | None:
    import psycopg

    extra: dict[str, Any] = {"application_name": "jobctl", "autocommit": True}
    if "connect_timeout=" not in conninfo:
        extra["connect_timeout"] = 10
    conn = psycopg.connect(conninfo, **extra)
    # psycopg already parses jsonb; timestamptz arrives in the session's zone: make it UTC.
    reader = JobReader(conn, "%s", record_fields(_processors(_aware_to_utc, None)), sqlite=False)
    return _checked(reader, conn, psycopg.errors.UndefinedTable)


def _checked(reader: JobReader, conn: Any, missing: type[Exception]) -> JobReader | None:
    """The reader, if the schema is at this jobctl's revision; else None (connection closed)."""
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except missing:
        row = None
    if row is None or row[0] != HEAD_REVISION:
        conn.close()
        return None
    return reader


def _processors(
    to_utc: Callable[[Any], datetime | None], from_json: Callable[[Any], Any] | None
) -> Sequence[Callable[[Any], Any] | None]:
    return [
        to_utc if name in DATETIME_COLUMNS else from_json if name in JSON_COLUMNS else None
        for name in RECORD_COLUMN_NAMES
    ]
