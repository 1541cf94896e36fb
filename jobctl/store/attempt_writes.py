"""Writing the attempt timeline inside the `jobs` writes that start and end an execution.

Why here and like this: the claim and the finish are the worker's hot path (one statement,
one round trip each: see jobs_repo), and an attempt record must never disagree with the row.
So the attempt write rides in the same transaction as the row's update, and only when that
update wins its fence:
- PostgreSQL: one statement, the attempt write a data-modifying CTE over the update's
  RETURNING (still one round trip; measured in benchmarks worker-noop-pg);
- SQLite: BEGIN IMMEDIATE, the update, the attempt write, COMMIT on one connection (all
  in-process; the commit is the same single WAL append as before).

JobRepository owns the connection pool and the `jobs` statements; this class only adds the
attempt half of each pair. Errors propagate: the repository translates them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Update

from jobctl.domain.attempts import AttemptOutcome
from jobctl.domain.status import JobStatus
from jobctl.store import attempts_sql as s
from jobctl.store import jobs_sql as q
from jobctl.store.driver import Driver
from jobctl.store.record_rows import utc

RUNNING, PENDING = JobStatus.RUNNING.value, JobStatus.PENDING.value


class AttemptWrites:
    """The attempt half of the claim and finish statements, for one engine's Driver."""

    def __init__(self, driver: Driver, pg: bool) -> None:
        self._driver = driver
        self._pg = pg

    def claim_row(self, job_id: str, worker: str, now: datetime) -> list[Sequence[Any]]:
        """PENDING -> RUNNING (jobs_sql.CLAIM_ROW) and attempt n started: the claimed row
        (RECORD_COLUMNS), or no row when the job was not PENDING (and nothing written)."""
        params = {"p_id": job_id, "p_worker": worker, "p_now": utc(now)}
        if self._pg:
            build = lambda: s.pg_claim(q.CLAIM_ROW)  # noqa: E731
            stmt = self._driver.statement("attempt-claim", build, q.RECORD_COLUMNS)
            return self._driver.rows(stmt, params)
        claim = self._driver.statement(q.CLAIM_ROW, lambda: q.CLAIM_ROW, q.RECORD_COLUMNS)
        start = self._driver.statement(s.SQLITE_START, lambda: s.SQLITE_START)
        with self._driver.transaction() as tx:
            rows = tx.rows(claim, params)
            if rows:
                tx.rowcount(start, params)
        return rows

    def claim_many(self, claims: Sequence[tuple[str, datetime]], worker: str) -> list[Sequence[Any]]:
        """claim_row() for each (job_id, claimed_at): the rows claimed (jobs no longer PENDING
        are left out). PostgreSQL: one statement (attempts_sql.PG_CLAIM_MANY); SQLite: one
        transaction."""
        if not claims:
            return []
        if self._pg:
            stmt = self._driver.statement(s.PG_CLAIM_MANY, lambda: s.PG_CLAIM_MANY, q.RECORD_COLUMNS)
            items = json.dumps([{"id": job_id, "at": utc(at).isoformat()} for job_id, at in claims])
            batch = {"p_items": items, "p_worker": worker, "p_running": RUNNING, "p_pending": PENDING}
            return self._driver.rows(stmt, batch)
        claim = self._driver.statement(q.CLAIM_ROW, lambda: q.CLAIM_ROW, q.RECORD_COLUMNS)
        start = self._driver.statement(s.SQLITE_START, lambda: s.SQLITE_START)
        rows: list[Sequence[Any]] = []
        with self._driver.transaction() as tx:
            for job_id, at in claims:
                params = {"p_id": job_id, "p_worker": worker, "p_now": utc(at)}
                claimed = tx.rows(claim, params)
                if claimed:
                    tx.rowcount(start, params)
                    rows.extend(claimed)
        return rows

    def finish(
        self, fenced: Update, params: dict[str, Any], outcome: AttemptOutcome, *, with_error: bool
    ) -> bool:
        """Run the fenced `jobs` UPDATE and, if it won, end attempt p_attempt with `outcome`
        (its error from the p_error_* values when `with_error`). True if the fence let it through."""
        if self._pg:
            key = ("attempt-finish", fenced, outcome, with_error)
            stmt = self._driver.statement(key, lambda: s.pg_finish(fenced, outcome, with_error=with_error))
            return int(self._driver.rows(stmt, params)[0][0]) == 1
        row = self._driver.statement(fenced, lambda: fenced)
        end_key = ("attempt-end", outcome, with_error)
        end = self._driver.statement(end_key, lambda: s.end_attempt(False, outcome, with_error=with_error))
        with self._driver.transaction() as tx:
            if tx.rowcount(row, params) != 1:
                return False
            tx.rowcount(end, params)
        return True

    def complete_many(
        self, fenced: Update, items: Sequence[tuple[str, int, object, datetime]]
    ) -> set[str] | None:
        """COMPLETE (`fenced`, jobs_sql.COMPLETE) each (job_id, attempt, result, finished_at) and
        end the attempts it let through `completed`: the ids completed. PostgreSQL: one
        statement for the batch (attempts_sql.PG_COMPLETE_MANY); SQLite: one transaction.
        None when PostgreSQL refused a value in the batch (a result with NaN or a NUL
        character): the caller then writes them one by one, so that job's write fails alone.

        Measured in the 60-slot worker (benchmarks worker-concurrent-io): one complete() per
        job, each its own statement and commit, were ~6 % of the process's GIL time."""
        if not items:
            return set()
        if self._pg:
            stmt = self._driver.statement(s.PG_COMPLETE_MANY, lambda: s.PG_COMPLETE_MANY)
            try:
                rows = [
                    {"id": i, "attempt": n, "result": r, "at": utc(at).isoformat()} for i, n, r, at in items
                ]
                batch = {
                    "p_items": json.dumps(rows, allow_nan=False), "p_completed": JobStatus.COMPLETED.value,
                    "p_running": JobStatus.RUNNING.value, "p_outcome": AttemptOutcome.COMPLETED.value,
                }  # fmt: skip
                return {str(row[0]) for row in self._driver.rows(stmt, batch)}
            except (TypeError, ValueError, self._driver.data_error):
                return None
        row = self._driver.statement(fenced, lambda: fenced)
        outcome = AttemptOutcome.COMPLETED
        end = self._driver.statement(
            ("attempt-end", outcome, False), lambda: s.end_attempt(False, outcome, with_error=False)
        )
        done: set[str] = set()
        with self._driver.transaction() as tx:
            for job_id, attempt, result, at in items:
                params = {"p_id": job_id, "p_attempt": attempt, "p_result": result, "p_now": utc(at)}
                if tx.rowcount(row, params) == 1:
                    tx.rowcount(end, params)
                    done.add(job_id)
        return done

    def reject_late(self, job_id: str, attempt: int, now: datetime) -> bool:
        """Attempt `attempt` returned after it was given up on: its real end, outcome
        late_finish_rejected (a cancelled attempt stays cancelled). True if recorded."""
        stmt = self._driver.statement(("attempt-late", self._pg), lambda: s.late_finish(self._pg))
        return self._driver.rowcount(stmt, {"p_id": job_id, "p_attempt": attempt, "p_now": utc(now)}) == 1
