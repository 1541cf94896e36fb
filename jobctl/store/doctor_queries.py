"""`jobctl doctor`'s reads of the database: reachability, schema revision, and bounded counts.

Read-only by construction: no statement here writes, and probing an embedded SQLite file that
does not exist yet does not create it (nor its directory). Every count stops at a cap and
walks an index range (queue+status, or status+created_at), so doctor stays fast on a table of
millions of rows.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, literal, or_, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError

from jobctl.domain.errors import DatabaseUnavailableError
from jobctl.store.context_tables import SOURCES
from jobctl.store.db_errors import database_errors, describe_db_error
from jobctl.store.engine import autocommit, create_store_engine, current_revision, engine_label
from jobctl.store.jobs_sql import PENDING
from jobctl.store.record_rows import utc
from jobctl.store.revision import HEAD_REVISION, KNOWN_REVISIONS
from jobctl.store.tables import JOBS, UTCDateTime

c = JOBS.c


@dataclass
class DatabaseProbe:
    """What one look at the database found. `engine` is open (caller disposes) when reachable."""

    backend: str  # "sqlite" or "postgresql"
    engine: Engine | None = None
    missing_file: Path | None = None  # SQLite: the file does not exist (yet)
    revision: str | None = None
    head: str = HEAD_REVISION
    connect_ms: float | None = None
    latency_ms: float | None = None  # median of a few `SELECT 1` on the open connection
    error: str | None = None  # why it is unreachable (URL masked)

    @property
    def schema_current(self) -> bool:
        return self.revision == self.head

    @property
    def schema_newer(self) -> bool:
        return self.revision is not None and self.revision not in KNOWN_REVISIONS


def probe_database(url: str, *, pings: int = 3) -> DatabaseProbe:
    """Connect, time a few round trips, read the schema revision. Never raises for an
    unreachable database (the probe says why); never creates a SQLite file."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return DatabaseProbe(backend="unknown", error="invalid database URL")
    backend = "sqlite" if parsed.get_backend_name() == "sqlite" else "postgresql"
    probe = DatabaseProbe(backend=backend)
    database = parsed.database
    on_disk = backend == "sqlite" and database and database != ":memory:" and not database.startswith("file:")
    if on_disk and not Path(str(database)).exists():
        probe.missing_file = Path(str(database))
        return probe
    try:
        engine = create_store_engine(url)
    except Exception as exc:  # ConfigError / DatabaseUnavailableError: both carry masked text
        probe.error = str(exc)
        return probe
    try:
        started = time.perf_counter()
        with autocommit(engine).connect() as conn:
            probe.connect_ms = _ms(started)
            rounds = []
            for _ in range(max(1, pings)):
                t = time.perf_counter()
                conn.execute(text("SELECT 1")).scalar()
                rounds.append(_ms(t))
            probe.latency_ms = round(statistics.median(rounds), 2)
        probe.revision = current_revision(engine)
    except DatabaseUnavailableError as exc:
        probe.error = exc.message
    except database_errors() as exc:
        probe.error = describe_db_error(engine_label(engine), exc)
    if probe.error is not None:
        engine.dispose()
        return probe
    probe.engine = engine
    return probe


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)


@dataclass(frozen=True)
class Overdue:
    """PENDING jobs of one queue that have been due since before the threshold."""

    queue: str
    count: int  # capped: `capped` says so
    capped: bool
    oldest_due: datetime | None


# Served by ix_jobs_queue_status: an index range of one queue's PENDING rows, cut at the cap.
_PENDING_IN_QUEUE = select(func.count()).select_from(
    select(literal(1))
    .where(c.queue == bindparam("p_queue"), c.status == PENDING)
    .limit(bindparam("p_cap"))
    .subquery()
)


class DoctorQueries:
    """Read-only queries over one Engine."""

    def __init__(self, engine: Engine) -> None:
        self._auto = autocommit(engine)
        self._label = engine_label(engine)

    def _run(self, stmt: Any, params: dict[str, Any]) -> list[Any]:
        try:
            with self._auto.connect() as conn:
                return list(conn.execute(stmt, params).all())
        except database_errors() as exc:
            raise DatabaseUnavailableError(describe_db_error(self._label, exc)) from exc

    def pending_counts(self, queues: list[str], *, cap: int) -> dict[str, int]:
        """PENDING rows per queue (each count stops at `cap`)."""
        return {q: int(self._run(_PENDING_IN_QUEUE, {"p_queue": q, "p_cap": cap})[0][0]) for q in queues}

    def source_counts(self) -> dict[str, int]:
        """Context sources per status (ACTIVE, UNHEALTHY, DISABLED): one pass over
        ix_context_sources_status (sources number in the thousands, not millions)."""
        stmt = select(SOURCES.c.status, func.count()).group_by(SOURCES.c.status)
        return {str(status): int(n) for status, n in self._run(stmt, {})}

    def overdue(self, due_before: datetime, *, cap: int) -> list[Overdue]:
        """PENDING rows due (next_attempt_at, else created_at) before `due_before`, per queue.

        One range of ix_jobs_status_created_at (created_at <= due time, so it bounds the scan),
        the oldest `cap` rows, grouped per queue."""
        cutoff = literal(utc(due_before), UTCDateTime())
        due = func.coalesce(c.next_attempt_at, c.created_at)
        rows = (
            select(c.queue.label("queue"), due.label("due"))
            .where(
                c.status == PENDING,
                c.created_at < cutoff,
                or_(c.next_attempt_at.is_(None), c.next_attempt_at < cutoff),
            )
            .order_by(c.created_at)
            .limit(cap)
            .subquery()
        )
        stmt = select(rows.c.queue, func.count(), func.min(rows.c.due)).group_by(rows.c.queue)
        found = [(q, int(n), _aware(oldest)) for q, n, oldest in self._run(stmt, {})]
        capped = sum(n for _, n, _ in found) >= cap
        return [Overdue(q, n, capped, oldest) for q, n, oldest in sorted(found)]


def _aware(value: datetime | str | None) -> datetime | None:
    """Aggregates skip the column type: SQLite hands back the stored text (naive UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
