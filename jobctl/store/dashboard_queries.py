"""The dashboard's reads of the `jobs` table (and one count of context sources): bounded by
design, so a refresh stays cheap at 10^6 rows.

Nothing here counts the whole table. Listings are keyset pages on (created_at, id), which
the indexes end in; aggregates read one bounded time range of finished_at (the last hour)
or stop at a cap (`count_failed_since`); only the failed-groups triage aggregates every
FAILED row, and the dashboard runs it only while that view is open.

Searches are `JobSearch` values (terms parsed by jobctl.api.dashboard): each term is an
equality, prefix or case-insensitive substring test, optionally negated.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    cast,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.engine import Engine
from sqlalchemy.types import Integer

from jobctl.domain.accounts import AccountStatus
from jobctl.domain.context import SourceStatus
from jobctl.domain.errors import DatabaseUnavailableError
from jobctl.domain.status import JobStatus
from jobctl.store.account_tables import ACCOUNTS
from jobctl.store.context_tables import SOURCES
from jobctl.store.db_errors import database_errors, describe_db_error
from jobctl.store.engine import autocommit, engine_label
from jobctl.store.record_rows import utc
from jobctl.store.tables import JOBS, UTCDateTime

c = JOBS.c
P = ParamSpec("P")
R = TypeVar("R")
FAILED, COMPLETED = JobStatus.FAILED.value, JobStatus.COMPLETED.value
UNHEALTHY = SourceStatus.UNHEALTHY.value
MESSAGE_CHARS = 300  # a listing shows the start of an error message; detail shows all of it

# The columns a term may test. "text" is free text over every human-readable column.
_EXACT = {
    "status": c.status,
    "type": c.type,
    "queue": c.queue,
    "org": c.organization_id,
    "class": c.error_type,
    "schedule": c.schedule_id,
}
_TEXT_COLUMNS = (c.id, c.type, c.queue, c.organization_id, c.error_type, c.error_message, c.worker)
FIELDS = (*_EXACT, "id", "error", "worker", "text")


@dataclass(frozen=True)
class Term:
    """One filter term: `field` matches any of `values` (OR); `negated` inverts the whole term."""

    field: str
    values: tuple[str, ...]
    negated: bool = False


@dataclass(frozen=True)
class FailedGroupKey:
    type: str
    error_type: str | None
    error_message: str | None


@dataclass(frozen=True)
class JobSearch:
    """Terms AND-ed together, plus optional bounds on created_at (both inclusive)."""

    terms: tuple[Term, ...] = ()
    created_since: datetime | None = None
    created_until: datetime | None = None  # bulk actions: only rows that existed when counted
    group: FailedGroupKey | None = None  # exactly one failed group (triage)


@dataclass(frozen=True)
class Cursor:
    """Keyset position: (created_at, id) of a row; a page continues strictly after it."""

    created_at: datetime
    id: str


@dataclass(frozen=True)
class JobSummary:
    """A listing row: everything but payload, result and traceback."""

    id: str
    type: str
    queue: str
    status: JobStatus
    organization_id: str | None
    attempts: int
    max_attempts: int
    error_type: str | None
    error_message: str | None  # at most MESSAGE_CHARS characters
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    next_attempt_at: datetime | None
    worker: str | None

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.created_at, self.id)


@dataclass(frozen=True)
class FailedGroup:
    key: FailedGroupKey
    count: int
    first_seen: datetime | None
    last_seen: datetime | None


@dataclass(frozen=True)
class FinishedBucket:
    """Jobs of one queue that ended with `status` within one minute (epoch minute `minute`)."""

    queue: str
    status: JobStatus
    minute: int
    count: int


def _translated(
    method: Callable[Concatenate[DashboardQueries, P], R],
) -> Callable[Concatenate[DashboardQueries, P], R]:
    @functools.wraps(method)
    def wrapper(self: DashboardQueries, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        except database_errors() as exc:
            raise DatabaseUnavailableError(describe_db_error(engine_label(self.engine), exc)) from exc

    return wrapper


_SUMMARY_COLUMNS = (
    c.id, c.type, c.queue, c.status, c.organization_id, c.attempts, c.max_attempts, c.error_type,
    func.substr(c.error_message, 1, MESSAGE_CHARS), c.created_at, c.started_at, c.finished_at,
    c.next_attempt_at, c.worker,
)  # fmt: skip


class DashboardQueries:
    """Read-only queries over one Engine (thread-safe: each call checks out a connection)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._auto = autocommit(engine)
        self._pg = engine.dialect.name == "postgresql"

    # -- listing ----------------------------------------------------------------------------

    @_translated
    def page(
        self, search: JobSearch, *, limit: int, after: Cursor | None = None, newest_first: bool = True
    ) -> list[JobSummary]:
        """Up to `limit` rows matching `search`, strictly after `after` in the chosen order."""
        stmt = self._ordered(select(*_SUMMARY_COLUMNS), search, after, newest_first).limit(limit)
        with self._auto.connect() as conn:
            return [_summary(row) for row in conn.execute(stmt)]

    @_translated
    def cursors(self, search: JobSearch, *, limit: int, after: Cursor | None = None) -> list[Cursor]:
        """Keys only, newest first: what a bulk action walks through, `limit` at a time."""
        stmt = self._ordered(select(c.created_at, c.id), search, after, True).limit(limit)
        with self._auto.connect() as conn:
            return [Cursor(created, job_id) for created, job_id in conn.execute(stmt)]

    @_translated
    def count(self, search: JobSearch, *, cap: int | None = None) -> int:
        """Rows matching `search` (at most `cap`): for a confirmation, never for a refresh."""
        inner = select(literal(1)).where(*self.conditions(search))
        if cap is not None:
            inner = inner.limit(cap)
        stmt = select(func.count()).select_from(inner.subquery())
        with self._auto.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def _ordered(
        self, stmt: Select[Any], search: JobSearch, after: Cursor | None, newest: bool
    ) -> Select[Any]:
        stmt = stmt.where(*self.conditions(search))
        if after is not None:
            key = tuple_(c.created_at, c.id)
            bound = tuple_(literal(utc(after.created_at), UTCDateTime()), literal(after.id, c.id.type))
            stmt = stmt.where(key < bound if newest else key > bound)
        if newest:
            return stmt.order_by(c.created_at.desc(), c.id.desc())
        return stmt.order_by(c.created_at.asc(), c.id.asc())

    def conditions(self, search: JobSearch) -> list[ColumnElement[bool]]:
        ranges = any(t.field == "id" for t in search.terms) and self._byte_order
        out = [_term(t, ranges) for t in search.terms]
        if search.created_since is not None:
            out.append(c.created_at >= utc(search.created_since))
        if search.created_until is not None:
            out.append(c.created_at <= utc(search.created_until))
        if search.group is not None:
            g = search.group
            out += [
                c.status == FAILED,
                c.type == g.type,
                c.error_type.is_not_distinct_from(g.error_type),
                c.error_message.is_not_distinct_from(g.error_message),
            ]
        return out

    # -- aggregates -------------------------------------------------------------------------

    @_translated
    def finished_since(self, since: datetime) -> list[FinishedBucket]:
        """COMPLETED and FAILED jobs per queue and minute since `since` (one range of finished_at)."""
        minute = self._epoch_minute(c.finished_at)
        stmt = (
            select(c.queue, c.status, minute, func.count())
            .where(c.status.in_((COMPLETED, FAILED)), c.finished_at >= utc(since))
            .group_by(c.queue, c.status, minute)
        )
        with self._auto.connect() as conn:
            return [FinishedBucket(q, JobStatus(s), int(m), int(n)) for q, s, m, n in conn.execute(stmt)]

    @_translated
    def count_failed_since(self, since: datetime, *, cap: int) -> int:
        """FAILED jobs that finished after `since`, counting no further than `cap`."""
        inner = select(literal(1)).where(c.status == FAILED, c.finished_at > utc(since)).limit(cap)
        with self._auto.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(inner.subquery())).scalar_one())

    @_translated
    def count_unhealthy_sources(self, *, cap: int) -> int:
        """UNHEALTHY context sources, counting no further than `cap` (a range of
        ix_context_sources_status: cheap enough for every refresh of the last-hour figures)."""
        inner = select(literal(1)).where(SOURCES.c.status == UNHEALTHY).limit(cap)
        with self._auto.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(inner.subquery())).scalar_one())

    @_translated
    def count_reauth_accounts(self, *, cap: int) -> int:
        """Social accounts in NEEDS_REAUTH, counting no further than `cap` (a range of
        ix_social_accounts_status)."""
        needs = AccountStatus.NEEDS_REAUTH.value
        inner = select(literal(1)).where(ACCOUNTS.c.status == needs).limit(cap)
        with self._auto.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(inner.subquery())).scalar_one())

    @_translated
    def failed_groups(self, *, limit: int) -> list[FailedGroup]:
        """FAILED jobs grouped by type + error class + message, biggest groups first."""
        stmt = (
            select(
                c.type, c.error_type, c.error_message, func.count(), func.min(c.finished_at),
                func.max(c.finished_at),
            )
            .where(c.status == FAILED)
            .group_by(c.type, c.error_type, c.error_message)
            .order_by(func.count().desc(), func.max(c.finished_at).desc(), c.type)
            .limit(limit)
        )  # fmt: skip
        out = []
        with self._auto.connect() as conn:
            for job_type, err_type, message, count, first, last in conn.execute(stmt):
                key = FailedGroupKey(job_type, err_type, message)
                out.append(FailedGroup(key, int(count), _aware(first), _aware(last)))
        return out

    @cached_property
    def _byte_order(self) -> bool:
        """Whether text sorts by code point, so `p <= id < p'` is exactly "id starts with p"
        and an id prefix can range-scan the primary key (SQLite; PostgreSQL in a C locale)."""
        if not self._pg:
            return True
        stmt = text("SELECT datcollate FROM pg_database WHERE datname = current_database()")
        with self._auto.connect() as conn:
            collation = str(conn.execute(stmt).scalar() or "")
        return collation.upper().replace("-", "") in ("C", "POSIX", "C.UTF8")

    def _epoch_minute(self, column: Any) -> ColumnElement[Any]:
        if self._pg:
            return cast(func.floor(func.extract("epoch", column) / 60), Integer)
        # SQLite stores 'YYYY-MM-DD HH:MM:SS.ffffff' UTC text: strftime('%s') reads it as UTC.
        return cast(func.strftime("%s", column), Integer) / 60


def _term(term: Term, id_ranges: bool) -> ColumnElement[bool]:
    values = [v for v in term.values if v] or [""]
    if term.field in _EXACT:
        column = _EXACT[term.field]
        test = column.in_(values) if len(values) > 1 else column == values[0]
        if term.negated and column.nullable:
            return or_(column.is_(None), not_(test))  # "!org:acme" keeps jobs without an org
        return not_(test) if term.negated else test
    tests = [_match(term.field, v, id_ranges) for v in values]
    test = or_(*tests) if len(tests) > 1 else tests[0]
    return not_(test) if term.negated else test


def _match(field: str, value: str, id_ranges: bool) -> ColumnElement[bool]:
    if field == "id":
        # substr: exact and case-sensitive everywhere (SQLite's LIKE ignores ASCII case). In a
        # code-point collation the range [p, p + U+10FFFF) holds exactly the ids starting with
        # p and lets the primary key serve it (10^6 rows on PostgreSQL: 108 ms -> 7 ms).
        exact = func.substr(c.id, 1, len(value)) == value
        return and_(c.id >= value, c.id < value + "\U0010ffff", exact) if id_ranges else exact
    columns: Sequence[Any]
    if field == "error":
        columns = (c.error_type, c.error_message)
    elif field == "worker":
        columns = (c.worker,)
    elif field == "text":
        columns = _TEXT_COLUMNS
    else:
        raise ValueError(f"unknown search field {field!r} (one of: {', '.join(FIELDS)})")
    # coalesce: NULL columns must not turn a negated term into NULL (which would drop the row).
    return or_(false(), *(func.coalesce(col, "").icontains(value, autoescape=True) for col in columns))


def _aware(value: datetime | None) -> datetime | None:
    """min()/max() results skip the column type on some backends: make them aware UTC."""
    if value is None:
        return None
    if isinstance(value, str):  # SQLite aggregates return the stored text
        value = datetime.fromisoformat(value)
    return utc(value) if value.tzinfo is not None else utc(value.replace(tzinfo=UTC))


def _summary(row: Sequence[Any]) -> JobSummary:
    (id_, type_, queue, status, org, attempts, max_attempts, err_type, err_msg, created, started,
     finished, next_at, worker) = row  # fmt: skip
    return JobSummary(
        id=id_, type=type_, queue=queue, status=JobStatus(status), organization_id=org,
        attempts=attempts, max_attempts=max_attempts, error_type=err_type, error_message=err_msg,
        created_at=created, started_at=started, finished_at=finished, next_attempt_at=next_at,
        worker=worker,
    )  # fmt: skip
