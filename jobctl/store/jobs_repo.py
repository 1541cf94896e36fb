"""JobRepository: every read and state change of the `jobs` table, in SQLAlchemy Core.

These run on hot paths (enqueue, claim, finish), so each operation is one statement and one
round trip where the backends allow it: statements are built once (`jobs_sql`), single
statements run without BEGIN/COMMIT (`engine.autocommit`; one statement is atomic anyway),
and a bulk enqueue is one INSERT whatever its size. State changes are compare-and-set
UPDATEs: the WHERE clause is the precondition, so two processes can never both win.
Finishing an execution is fenced by its attempt number: a late result of an execution that
was already given up on (attempt n while the row is at n+1, or no longer RUNNING) changes
nothing, and the method returns False so the caller can log "late finish rejected".

Every method turns database outages into DatabaseUnavailableError (masked URL, no secrets).
Datetimes in and out are aware UTC; naive ones are refused with ValueError.
"""

from __future__ import annotations

import builtins
import functools
import json
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Update, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, StatementError

from jobctl.domain.attempts import AttemptOutcome, AttemptRecord
from jobctl.domain.errors import DatabaseUnavailableError, TooManyJobsError
from jobctl.domain.records import JobError, JobFilter, JobRecord, NewJob, deferred_records
from jobctl.domain.status import JobStatus
from jobctl.store import attempts_sql
from jobctl.store import jobs_sql as q
from jobctl.store.attempt_rows import to_attempt
from jobctl.store.attempt_writes import AttemptWrites
from jobctl.store.db_errors import database_errors, describe_db_error
from jobctl.store.driver import Driver
from jobctl.store.engine import SQLITE_IMMEDIATE, autocommit, engine_label
from jobctl.store.overlap import Overlap
from jobctl.store.record_rows import record_fields, to_record, utc
from jobctl.store.tables import JOBS

log = logging.getLogger("jobctl.store")
P = ParamSpec("P")
R = TypeVar("R")
c = JOBS.c
_STATUS_VALUES = frozenset(s.value for s in JobStatus)
# One limit for every organisation, or a function giving each organisation's.
OrgLimit = int | Callable[[str], int]
_ID_CHUNK = 500  # ids per IN (...) list: far below every backend's parameter limit


def _translated(
    method: Callable[Concatenate[JobRepository, P], R],
) -> Callable[Concatenate[JobRepository, P], R]:
    """Turn driver/connection failures into DatabaseUnavailableError with a masked URL, and a
    value SQLAlchemy could not convert (a result that is not JSON) back into its TypeError or
    ValueError, so no SQLAlchemy exception type leaks out of the store."""

    @functools.wraps(method)
    def wrapper(self: JobRepository, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        except self._db_errors as exc:
            raise DatabaseUnavailableError(describe_db_error(self._label, exc)) from exc
        except StatementError as exc:
            if not isinstance(exc, DBAPIError) and isinstance(exc.orig, TypeError | ValueError):
                raise exc.orig from None
            raise

    return wrapper


class JobRepository:
    """The `jobs` table over one Engine (thread-safe: each call checks out its own connection)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._auto = autocommit(engine)
        self._pg = engine.dialect.name == "postgresql"
        self._label = engine_label(engine)
        self._db_errors = database_errors()
        self._dialect_insert = postgresql.insert if self._pg else sqlite.insert
        # Hot statements skip SQLAlchemy's per-execution plumbing (see jobctl.store.driver).
        self._driver = Driver(engine)
        self._overlap = Overlap(engine)
        self._attempts = AttemptWrites(self._driver, self._pg)  # each claim and finish records its attempt
        running_attempt = select(c.attempts).where(c.id == bindparam("p_id")).scalar_subquery()
        self._cancel_attempt = attempts_sql.cancel_running(self._pg, running_attempt)
        # SQLite rows carry datetimes as text: exactly what the column type would have stored.
        to_text = c.scheduled_for.type.dialect_impl(engine.dialect).bind_processor(engine.dialect)
        self._dt_text: Callable[[datetime], Any] = to_text if to_text is not None else (lambda v: v)

    # -- writing new jobs -------------------------------------------------------------------

    @_translated
    def insert(self, job: NewJob, now: datetime) -> bool:
        """Insert one PENDING job; False if a job with its id already exists (idempotent enqueue)."""
        stmt = self._driver.statement("insert_one", self._insert_one)
        return bool(self._driver.rows(stmt, q.new_job_params(job, now)))

    def _insert_one(self) -> Any:
        return q.insert_one(self._dialect_insert)

    @_translated
    def insert_many(
        self,
        jobs: Sequence[NewJob],
        now: datetime,
        *,
        org_limit: OrgLimit | None = None,
        meanwhile: Callable[[], None] | None = None,
    ) -> builtins.list[bool]:
        """Insert `jobs` as PENDING with one INSERT; per job, True if it was inserted.

        False means a row with that id already exists (or the id came earlier in `jobs`):
        enqueueing is idempotent by id. With `org_limit`, the per-organisation active-job
        limit is checked and the insert done in one transaction under a lock (PostgreSQL:
        advisory lock per organisation; SQLite: the write lock), so concurrent enqueuers
        cannot overshoot it; if any organisation would exceed it, TooManyJobsError is raised
        and nothing is inserted.

        `meanwhile` (computation only, no writes) is called once, unless the INSERT fails first: on PostgreSQL
        while the server runs and commits the INSERT (jobctl.store.overlap), elsewhere just
        before it. Its exceptions propagate (the rows may then be committed).
        """
        now = utc(now)
        first: dict[str, NewJob] = {}
        for job in jobs:
            first.setdefault(job.id, job)
        unique = builtins.list(first.values())
        if not unique:
            if meanwhile is not None:
                meanwhile()
            return []
        if org_limit is not None and not any(j.organization_id for j in unique):
            org_limit = None  # nothing to count: take the fast paths
        if org_limit is None and len(unique) == 1:
            # A plain one-row INSERT: the array/JSON bulk form costs ~0.3 ms more per statement.
            params = q.new_job_params(unique[0], now)
            rows = self._returning("insert_one", self._insert_one, params, meanwhile)
            inserted = {row[0] for row in rows}
        elif org_limit is None:
            stmt, params = self._bulk_insert(unique, now)
            inserted = {row[0] for row in self._returning(stmt, lambda: stmt, params, meanwhile)}
        else:
            if meanwhile is not None:
                meanwhile()  # one transaction under a lock: nothing to overlap with
            stmt, params = self._bulk_insert(unique, now)
            with self._engine.connect().execution_options(**{SQLITE_IMMEDIATE: True}) as conn, conn.begin():
                self._check_org_limits(conn, unique, org_limit)
                inserted = set(conn.execute(stmt, params).scalars())
        flags: builtins.list[bool] = []
        for job in jobs:
            flags.append(job.id in inserted)
            inserted.discard(job.id)  # a repeated id in `jobs` reports False after the first
        return flags

    def _returning(
        self,
        key: Any,
        build: Callable[[], Any],
        params: dict[str, Any],
        meanwhile: Callable[[], None] | None,
    ) -> builtins.list[Sequence[Any]]:
        """One self-committing statement's rows, with `meanwhile` overlapped where possible."""
        if meanwhile is not None:
            rows = self._overlap.run(key, build, params, meanwhile)
            if rows is not None:
                return rows
            meanwhile()
        return self._driver.rows(self._driver.statement(key, build), params)

    def _bulk_insert(self, jobs: Sequence[NewJob], now: datetime) -> tuple[Any, dict[str, Any]]:
        # Times as text: ISO 8601 with its offset for PostgreSQL's timestamptz, and on SQLite
        # exactly what the column type would have stored.
        to_text = (lambda v: v.isoformat()) if self._pg else self._dt_text
        rows = [
            [j.id, j.type, j.queue, j.organization_id, j.payload, j.max_attempts, j.schedule_id,
             to_text(utc(j.scheduled_for)) if j.scheduled_for is not None else None]
            for j in jobs
        ]  # fmt: skip
        stmt = q.PG_BULK_INSERT if self._pg else q.SQLITE_BULK_INSERT
        return stmt, {"p_status": q.PENDING, "p_now": now, "p_rows": json.dumps(rows)}

    def _check_org_limits(self, conn: Connection, jobs: Sequence[NewJob], limit: OrgLimit) -> None:
        existing: set[str] = set()
        for start in range(0, len(jobs), _ID_CHUNK):
            chunk = [job.id for job in jobs[start : start + _ID_CHUNK]]
            existing.update(conn.execute(select(c.id).where(c.id.in_(chunk))).scalars())
        new_per_org = Counter(j.organization_id for j in jobs if j.organization_id and j.id not in existing)
        for org in sorted(new_per_org):  # sorted: concurrent enqueuers lock in the same order
            if self._pg:
                key = func.hashtextextended("jobctl-org:" + org, 0)
                conn.execute(select(func.pg_advisory_xact_lock(key)))
            cap = limit(org) if callable(limit) else limit
            if self._count_active(conn, org) + new_per_org[org] > cap:
                raise TooManyJobsError(org, cap)

    # -- reading ----------------------------------------------------------------------------

    @_translated
    def get(self, job_id: str) -> JobRecord | None:
        stmt = self._driver.statement(q.GET, lambda: q.GET, q.RECORD_COLUMNS)
        rows = self._driver.rows(stmt, {"p_id": job_id})
        return to_record(rows[0]) if rows else None

    @_translated
    def get_many(self, ids: Sequence[str]) -> dict[str, JobRecord]:
        """The jobs among `ids` that exist, by id (missing ids are simply absent)."""
        unique = builtins.list(dict.fromkeys(ids))
        out: dict[str, JobRecord] = {}
        with self._auto.connect() as conn:
            for start in range(0, len(unique), _ID_CHUNK):
                stmt = select(*q.RECORD_COLUMNS).where(c.id.in_(unique[start : start + _ID_CHUNK]))
                for row in conn.execute(stmt):
                    out[row[0]] = to_record(row)
        return out

    @_translated
    def list(self, flt: JobFilter) -> builtins.list[JobRecord]:
        """Jobs matching `flt`, newest first (created_at DESC, id DESC).

        Page with `flt.before` = (created_at, id) of the last row seen. `flt.limit` <= 0 means
        no limit. One statement per filter shape (jobs_sql.list_statement), compiled once.
        """
        shape = q.list_shape(flt)
        stmt = self._driver.statement(("list", shape), lambda: q.list_statement(shape), q.RECORD_COLUMNS)
        params = q.list_params(flt)
        raw = self._driver.raw_rows(stmt, params)
        if raw is None:
            return [to_record(row) for row in self._driver.rows(stmt, params)]
        fields = stmt.cache.get("record_fields")
        if fields is None:
            fields = stmt.cache["record_fields"] = record_fields(stmt.processors)
        return deferred_records(raw, fields)

    @_translated
    def count_active_for_org(self, organization_id: str) -> int:
        """PENDING + RUNNING jobs of one organisation (served by the (organization_id, status) index)."""
        with self._auto.connect() as conn:
            return self._count_active(conn, organization_id)

    @staticmethod
    def _count_active(conn: Connection, organization_id: str) -> int:
        stmt = select(func.count()).where(c.organization_id == organization_id, c.status.in_(q.ACTIVE))
        return int(conn.execute(stmt).scalar_one())

    @_translated
    def counts_by_status(self, queue: str | None = None) -> dict[JobStatus, int]:
        """Number of jobs per status (every status present, zero if none), optionally for one queue."""
        stmt = select(c.status, func.count()).group_by(c.status)
        if queue is not None:
            stmt = stmt.where(c.queue == queue)
        counts = dict.fromkeys(JobStatus, 0)
        with self._auto.connect() as conn:
            for status, count in conn.execute(stmt):
                if status in _STATUS_VALUES:  # a status from a newer jobctl is not counted
                    counts[JobStatus(status)] = int(count)
        return counts

    # -- an execution's life ----------------------------------------------------------------

    @_translated
    def claim(self, job_id: str, worker: str, now: datetime) -> int | None:
        """PENDING -> RUNNING for `worker`; the new attempt number, or None if not PENDING."""
        rows = self._attempts.claim_row(job_id, worker, now)
        return int(to_record(rows[0]).attempts) if rows else None

    @_translated
    def claim_row(self, job_id: str, worker: str, now: datetime) -> JobRecord | None:
        """claim() returning the whole claimed row (one round trip instead of claim + get).
        The attempt it starts is recorded with it (outcome NULL while it runs)."""
        rows = self._attempts.claim_row(job_id, worker, now)
        return to_record(rows[0]) if rows else None

    @_translated
    def claim_rows(self, claims: Sequence[tuple[str, datetime]], worker: str) -> dict[str, JobRecord]:
        """claim_row() for many jobs at once, each (job_id, claimed_at): the claimed rows by id
        (a job that was not PENDING is absent). One statement on PostgreSQL, one transaction
        on SQLite; each claim starts its attempt as claim_row() does. A worker's slots claim
        through this together (jobctl.worker.claimer)."""
        return {r.id: r for r in map(to_record, self._attempts.claim_many(claims, worker))}

    @_translated
    def release(self, job_id: str, attempt: int, now: datetime) -> bool:
        """RUNNING attempt `attempt` -> PENDING without spending a retry (the run was interrupted
        by the worker, not failed by the job; the attempt ends handed_back); False if the fence
        rejects it."""
        return self._write(q.RELEASE, now, {"p_id": job_id, "p_attempt": attempt}, AttemptOutcome.HANDED_BACK)

    @_translated
    def running(self, limit: int = 5000) -> builtins.list[JobRecord]:
        """RUNNING rows, oldest start first (the recovery sweep; served by the status index)."""
        with self._auto.connect() as conn:
            return [to_record(r) for r in conn.execute(q.RUNNING_ROWS, {"p_limit": limit})]

    @_translated
    def complete(self, job_id: str, attempt: int, result: object, now: datetime) -> bool:
        """RUNNING attempt `attempt` -> COMPLETED with `result`; False if the fence rejects it."""
        params = {"p_id": job_id, "p_attempt": attempt, "p_result": result}
        return self._write(q.COMPLETE, now, params, AttemptOutcome.COMPLETED)

    @_translated
    def complete_many(self, items: Sequence[tuple[str, int, object, datetime]]) -> set[str]:
        """complete() for many executions, each (job_id, attempt, result, finished_at) and
        fenced the same way, each ending its attempt row: the ids it changed. A worker's
        completer records its batches through this: one statement on PostgreSQL, one
        transaction on SQLite (AttemptWrites.complete_many).
        A batch PostgreSQL refuses a value of is written one complete() at a time; a job whose
        result cannot be stored is left out (RUNNING: the sweep re-runs it when its lease lapses)."""
        done = self._attempts.complete_many(q.COMPLETE, items)
        if done is not None:
            return done
        done = set()
        for job_id, attempt, result, at in items:
            try:
                if self.complete(job_id, attempt, result, at):
                    done.add(job_id)
            except (TypeError, ValueError, self._driver.data_error) as exc:
                log.error(f"job {job_id}: its result cannot be stored: {exc}", extra={"job_id": job_id})
        return done

    def fail(
        self,
        job_id: str,
        attempt: int,
        error: JobError,
        now: datetime,
        *,
        outcome: AttemptOutcome = AttemptOutcome.FAILED,
    ) -> bool:
        """RUNNING attempt `attempt` -> FAILED with `error`; False if the fence rejects it.
        The attempt ends with `outcome` (lost or hung when recovery gives up on it)."""
        params = {"p_id": job_id, "p_attempt": attempt, **q.error_params(error)}
        return self._write(q.FAIL, now, params, outcome, with_error=True)

    @_translated
    def schedule_retry(
        self,
        job_id: str,
        attempt: int,
        error: JobError,
        next_attempt_at: datetime,
        now: datetime,
        *,
        outcome: AttemptOutcome = AttemptOutcome.RETRY_SCHEDULED,
    ) -> bool:
        """RUNNING attempt `attempt` -> PENDING until `next_attempt_at`, keeping the attempt's
        error for operators; False if the fence rejects it. The attempt ends with `outcome`."""
        params = {"p_id": job_id, "p_attempt": attempt, "p_next": utc(next_attempt_at)}
        return self._write(q.RETRY, now, {**params, **q.error_params(error)}, outcome, with_error=True)

    @_translated
    def defer(
        self, job_id: str, attempt: int, error: JobError, next_attempt_at: datetime, now: datetime
    ) -> bool:
        """RUNNING attempt `attempt` -> PENDING until `next_attempt_at` without spending a retry:
        the job asked to wait (a rate limit). max_attempts grows by one (attempts still counts
        executions: it is the fence), `error` says why on the row and on the attempt, which ends
        `deferred`, all in one transaction; False if the fence rejects it."""
        params = {"p_id": job_id, "p_attempt": attempt, "p_next": utc(next_attempt_at)}
        return self._write(
            q.DEFER, now, {**params, **q.error_params(error)}, AttemptOutcome.DEFERRED, with_error=True
        )

    @_translated
    def deferrals(self, job_id: str) -> int:
        """How many executions of `job_id` ended `deferred` (the runner caps them)."""
        stmt = self._driver.statement(attempts_sql.DEFERRALS_OF_JOB, lambda: attempts_sql.DEFERRALS_OF_JOB)
        return int(self._driver.rows(stmt, {"p_id": job_id})[0][0])

    @_translated
    def reject_late_finish(self, job_id: str, attempt: int, now: datetime) -> bool:
        """Record that attempt `attempt` finished after it was given up on (its result changed
        nothing): late_finish_rejected, unless it was cancelled. True if recorded."""
        return self._attempts.reject_late(job_id, attempt, now)

    def _write(
        self,
        stmt: Update,
        now: datetime,
        params: dict[str, Any],
        outcome: AttemptOutcome,
        *,
        with_error: bool = False,
    ) -> bool:
        """Run one fenced UPDATE and end its attempt with `outcome` in the same transaction;
        True if it changed the row (the fence let it through)."""
        return self._attempts.finish(stmt, {**params, "p_now": utc(now)}, outcome, with_error=with_error)

    @_translated
    def attempts(self, job_id: str) -> builtins.list[AttemptRecord]:
        """Every recorded execution of `job_id`, first attempt first (empty for an unknown id)."""
        stmt = self._driver.statement(
            attempts_sql.OF_JOB, lambda: attempts_sql.OF_JOB, attempts_sql.READ_COLUMNS
        )
        return [to_attempt(row) for row in self._driver.rows(stmt, {"p_id": job_id})]

    # -- operator actions -------------------------------------------------------------------

    @_translated
    def cancel(self, job_id: str, now: datetime) -> JobStatus | None:
        """PENDING|RUNNING -> CANCELLED; the status it had, or None if it was not active.
        A RUNNING job's open attempt ends cancelled in the same transaction."""
        params = {"p_now": utc(now), "p_id": job_id}

        def end_attempt(conn: Connection, previous: str) -> None:
            if previous == q.RUNNING:
                conn.execute(self._cancel_attempt, params)

        return self._swap(job_id, q.ACTIVE, q.CANCEL_VALUES, params, after=end_attempt)

    @_translated
    def requeue(self, job_id: str, extra_attempts: int, now: datetime) -> JobStatus | None:
        """FAILED|CANCELLED -> PENDING with max_attempts = attempts + `extra_attempts`, the last
        run's outcome cleared; the status it had, or None if it was neither."""
        return self._swap(
            job_id, q.ENDED_BADLY, q.REQUEUE_VALUES, {"p_now": utc(now), "p_extra": extra_attempts}
        )

    def _swap(
        self,
        job_id: str,
        allowed: tuple[str, ...],
        values: dict[str, Any],
        params: dict[str, Any],
        *,
        after: Callable[[Connection, str], None] | None = None,
    ) -> JobStatus | None:
        """Move job_id from any of `allowed` to `values` atomically; return the old status.

        PostgreSQL: one statement, the old row locked by a FOR UPDATE subquery. SQLite cannot
        RETURNING a pre-update value, so read and update inside one BEGIN IMMEDIATE transaction
        (the write lock is held from the read on: nobody can change the row in between).
        `after(conn, old_status)` runs in the same transaction once the move is made.
        """
        if self._pg:
            old = (
                select(c.id, c.status)
                .where(c.id == job_id, c.status.in_(allowed))
                .with_for_update()
                .subquery("old")
            )
            stmt = update(JOBS).where(c.id == old.c.id).values(values).returning(old.c.status)
            if after is None:
                with self._auto.connect() as conn:
                    previous = conn.execute(stmt, params).scalar()
                return JobStatus(previous) if previous is not None else None
            with self._engine.connect() as conn, conn.begin():
                previous = conn.execute(stmt, params).scalar()
                if previous is not None:
                    after(conn, previous)
            return JobStatus(previous) if previous is not None else None
        with self._engine.connect().execution_options(**{SQLITE_IMMEDIATE: True}) as conn, conn.begin():
            previous = conn.execute(select(c.status).where(c.id == job_id)).scalar()
            if previous not in allowed:
                return None
            conn.execute(update(JOBS).where(c.id == job_id).values(values), params)
            if after is not None:
                after(conn, previous)
        return JobStatus(previous)

    @_translated
    def delete(self, job_id: str) -> JobStatus | None:
        """Delete a COMPLETED, FAILED or CANCELLED job; the status it had, or None if it is
        missing or still active (an active job is cancelled first, never deleted under a worker)."""
        final = (JobStatus.COMPLETED.value, *q.ENDED_BADLY)
        stmt = delete(JOBS).where(c.id == job_id, c.status.in_(final)).returning(c.status)
        with self._engine.connect() as conn, conn.begin():  # the row and its timeline together
            previous = conn.execute(stmt).scalar()
            if previous is not None:
                conn.execute(attempts_sql.delete_of_job(), {"p_id": job_id})
        return JobStatus(previous) if previous is not None else None
