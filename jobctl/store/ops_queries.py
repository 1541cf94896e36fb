"""The SQL of the scripting commands: bulk selections (retry --all-failed, purge) and the
figures `jobctl check` judges (failed in a window, the oldest due PENDING job).

Bulk work is bounded: ids come in keyset pages (`ids_after`), and a purge deletes at most
`limit` jobs per transaction (`delete_batch`), so neither holds locks nor memory in proportion
to the table. A purge locks the rows it chose under its whole condition (re-tested on a row
changed meanwhile): a job an operator retried in between (PENDING again) is never deleted, and
PENDING/RUNNING rows never match at all. A job's attempt rows go in the same transaction as the job.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import ColumnElement, delete, func, literal, or_, select
from sqlalchemy.engine import Engine

from jobctl.domain.bulk import JobSelection
from jobctl.domain.errors import DatabaseUnavailableError
from jobctl.domain.status import JobStatus
from jobctl.store.attempt_tables import JOB_ATTEMPTS
from jobctl.store.db_errors import database_errors, describe_db_error
from jobctl.store.engine import SQLITE_IMMEDIATE, autocommit, engine_label
from jobctl.store.record_rows import utc
from jobctl.store.tables import JOBS

c = JOBS.c
P = ParamSpec("P")
R = TypeVar("R")
PENDING, FAILED = JobStatus.PENDING.value, JobStatus.FAILED.value
_CHUNK = 1000  # ids per IN list (SQLite allows 32,766 bound values a statement)


def _translated(method: Callable[Concatenate[OpsQueries, P], R]) -> Callable[Concatenate[OpsQueries, P], R]:
    @functools.wraps(method)
    def wrapper(self: OpsQueries, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        except database_errors() as exc:
            raise DatabaseUnavailableError(describe_db_error(self._label, exc)) from exc

    return wrapper


def conditions(sel: JobSelection) -> list[ColumnElement[bool]]:
    """WHERE terms of a selection; the status and finished_at ones lead
    ix_jobs_status_finished_at (partial: finished_at IS NOT NULL)."""
    where: list[ColumnElement[bool]] = [c.status.in_([s.value for s in sel.statuses])]
    if sel.types:
        where.append(c.type.in_(sel.types))
    if sel.queues:
        where.append(c.queue.in_(sel.queues))
    if sel.organization_id is not None:
        where.append(c.organization_id == sel.organization_id)
    if sel.finished_after is not None or sel.finished_before is not None:
        where.append(c.finished_at.is_not(None))
    if sel.finished_after is not None:
        where.append(c.finished_at >= utc(sel.finished_after))
    if sel.finished_before is not None:
        where.append(c.finished_at < utc(sel.finished_before))
    return where


class OpsQueries:
    """Over one Engine (thread-safe: each call checks out its own connection)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._auto = autocommit(engine)
        self._label = engine_label(engine)

    # -- bulk selections ---------------------------------------------------------------------

    @_translated
    def count_by_status(self, sel: JobSelection) -> dict[str, int]:
        """Matching jobs per status (the preview a confirmation shows)."""
        stmt = select(c.status, func.count()).where(*conditions(sel)).group_by(c.status)
        with self._auto.connect() as conn:
            return {str(s): int(n) for s, n in conn.execute(stmt)}

    @_translated
    def ids_after(self, sel: JobSelection, after: str | None, limit: int) -> list[str]:
        """The next `limit` matching ids greater than `after`, in id order (a keyset page: a
        job changed by the run, or failing again during it, is never visited twice)."""
        stmt = select(c.id).where(*conditions(sel))
        if after is not None:
            stmt = stmt.where(c.id > after)
        with self._auto.connect() as conn:
            return list(conn.execute(stmt.order_by(c.id).limit(limit)).scalars())

    @_translated
    def delete_batch(self, sel: JobSelection, limit: int) -> list[tuple[str, str]]:
        """Delete up to `limit` matching jobs, oldest finished first, and their attempt rows in
        one transaction; (id, queue) of each job deleted. An empty list: nothing matches any more.

        Two steps in one transaction: lock the ids, one status at a time as a range of
        ix_jobs_status_finished_at in finished_at order (PostgreSQL: FOR UPDATE SKIP LOCKED,
        which re-tests the condition on a row changed meanwhile, e.g. retried, and holds it;
        SQLite: BEGIN IMMEDIATE, no other writer in between), then DELETE those ids by primary
        key. One statement, `id IN (SELECT ... LIMIT n) AND <condition>`, let PostgreSQL
        hash-join the subquery against a sequential scan of the whole table, or AND a bitmap of
        every finished job, on every batch: 1.7 s per batch of 5,000 on a table of 1,000,000
        rows."""
        with self._engine.connect().execution_options(**{SQLITE_IMMEDIATE: True}) as conn, conn.begin():
            ids: list[str] = []
            for status in sel.statuses:
                if len(ids) >= limit:
                    break
                one = conditions(replace(sel, statuses=(status,)))
                page = select(c.id).where(*one).order_by(c.finished_at).limit(limit - len(ids))
                ids += [str(i) for i in conn.execute(page.with_for_update(skip_locked=True)).scalars()]
            gone: list[tuple[str, str]] = []
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                gone += [(str(i), str(q)) for i, q in conn.execute(
                    delete(JOBS).where(c.id.in_(chunk)).returning(c.id, c.queue))]  # fmt: skip
                conn.execute(delete(JOB_ATTEMPTS).where(JOB_ATTEMPTS.c.job_id.in_(chunk)))
        return gone

    # -- check figures -----------------------------------------------------------------------

    @_translated
    def count_failed_since(self, since: datetime, queues: Sequence[str] = (), *, cap: int) -> int:
        """FAILED jobs that finished at or after `since` (a range of ix_jobs_status_finished_at),
        counting no further than `cap`."""
        inner = select(literal(1)).where(c.status == FAILED, c.finished_at >= utc(since))
        if queues:
            inner = inner.where(c.queue.in_(queues))
        stmt = select(func.count()).select_from(inner.limit(cap).subquery())
        with self._auto.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    @_translated
    def oldest_due_pending(self, now: datetime, queues: Sequence[str] = ()) -> tuple[int, datetime | None]:
        """PENDING jobs due by `now` (not scheduled, or their scheduled/retry time has come),
        and the time the longest-waiting one became due (next_attempt_at, else created_at).

        Walks the PENDING range of ix_jobs_status_created_at: the backlog, not the table."""
        due = func.coalesce(c.next_attempt_at, c.created_at)
        stmt = select(func.count(), func.min(due)).where(
            c.status == PENDING,
            c.created_at <= utc(now),
            or_(c.next_attempt_at.is_(None), c.next_attempt_at <= utc(now)),
        )
        if queues:
            stmt = stmt.where(c.queue.in_(queues))
        with self._auto.connect() as conn:
            count, oldest = conn.execute(stmt).one()
        return int(count), _aware(oldest)


def _aware(value: datetime | str | None) -> datetime | None:
    """Aggregates skip the column type: SQLite hands back the stored text (naive UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
