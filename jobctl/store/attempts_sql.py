"""The SQL of the attempt timeline, built once at import: what each write to `job_attempts` is.

Kept apart from the writer (attempt_writes) as jobs_sql is from the repository. Parameters are
the same p_* names the `jobs` statements use (p_id, p_attempt, p_now, p_error_*), so one
parameter dict serves a `jobs` update and its attempt write. PostgreSQL gets each pair as ONE
statement (the attempt write is a data-modifying CTE over the `jobs` update's RETURNING): the
claim and the finish stay one round trip. SQLite runs the pair in one transaction instead
(in-process: no round trip to save).

An attempt's duration is computed by the database (finished_at - started_at, in ms), so every
writer (the execution, the sweep, a cancel) records it the same way without reading the row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Delete,
    Float,
    Insert,
    Numeric,
    Select,
    Update,
    bindparam,
    cast,
    delete,
    extract,
    func,
    null,
    or_,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import NullType

from jobctl.domain.attempts import GIVEN_UP, AttemptOutcome
from jobctl.store.attempt_rows import ATTEMPT_COLUMN_NAMES
from jobctl.store.attempt_tables import JOB_ATTEMPTS
from jobctl.store.jobs_sql import NOW, RECORD_COLUMNS
from jobctl.store.record_rows import RECORD_COLUMN_NAMES as RECORD_COLUMNS_BY_NAME
from jobctl.store.tables import JOBS

a = JOB_ATTEMPTS.c
c = JOBS.c

ATTEMPT_COLUMNS = (
    a.job_id, a.attempt, a.worker, a.started_at, a.finished_at, a.duration_ms, a.outcome,
    a.error_type, a.error_message, a.error_traceback,
)  # fmt: skip
ERROR_BINDS: dict[str, Any] = {
    "error_type": bindparam("p_error_type"),
    "error_message": bindparam("p_error_message"),
    "error_traceback": bindparam("p_error_traceback"),
}
NO_ERROR_PARAMS: dict[str, Any] = {"p_error_type": None, "p_error_message": None, "p_error_traceback": None}
_RESET = {
    "finished_at": null(), "duration_ms": null(), "outcome": null(),
    "error_type": null(), "error_message": null(), "error_traceback": null(),
}  # fmt: skip


def duration_ms(pg: bool) -> ColumnElement[Any]:
    """p_now - started_at in milliseconds (0.1 ms resolution), in the dialect's date arithmetic.
    SQLite stores UTC text that julianday() reads (to the millisecond)."""
    if pg:
        seconds = extract("epoch", NOW - a.started_at)
        return cast(func.round(cast(seconds * 1000, Numeric), 1), Float)
    return func.round((func.julianday(NOW) - func.julianday(a.started_at)) * 86400000.0, 1)


def _one(job_id: Any, attempt: Any) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return a.job_id == job_id, a.attempt == attempt


def finish_values(pg: bool, outcome: AttemptOutcome, *, with_error: bool) -> dict[str, Any]:
    values: dict[str, Any] = {"outcome": outcome.value, "finished_at": NOW, "duration_ms": duration_ms(pg)}
    return {**values, **(ERROR_BINDS if with_error else {k: null() for k in ERROR_BINDS})}


# -- the start of an attempt: the claim's row becomes attempt n, outcome NULL ----------------


def _insert_started(pg: bool, source: Select[Any]) -> Insert:
    """INSERT attempt (job_id, attempt, worker, started_at) from `source`. A row already there
    for that number (a job deleted and enqueued again under its id) is started afresh."""
    ins = (postgresql.insert if pg else sqlite.insert)(JOB_ATTEMPTS).from_select(
        ["job_id", "attempt", "worker", "started_at"], source
    )
    excluded = ins.excluded
    return ins.on_conflict_do_update(
        index_elements=[a.job_id, a.attempt],
        set_={"worker": excluded.worker, "started_at": excluded.started_at, **_RESET},
    )


def pg_claim(claim: Update) -> Select[Any]:
    """PostgreSQL: the claim (an UPDATE ... RETURNING RECORD_COLUMNS) and the attempt's INSERT
    as one statement, returning the claimed row as the claim alone would."""
    claimed = claim.cte("claimed")
    started = _insert_started(
        True, select(claimed.c.id, claimed.c.attempts, claimed.c.worker, claimed.c.started_at)
    )
    return select(*[claimed.c[col.name] for col in RECORD_COLUMNS]).add_cte(started.cte("started"))


# SQLite, after the claim in the same transaction: the row now says which attempt it runs.
SQLITE_START: Insert = _insert_started(
    False,
    select(c.id, c.attempts, c.worker, c.started_at).where(c.id == bindparam("p_id"), c.status == "RUNNING"),
)


# -- the end of an attempt, written by the execution with its fenced `jobs` update ----------


def pg_finish(fenced: Update, outcome: AttemptOutcome, *, with_error: bool) -> Select[Any]:
    """PostgreSQL: the fenced update of the row and the end of its attempt as one statement,
    returning the number of rows the fenced update changed (1: this execution won)."""
    done = fenced.returning(c.id).cte("done")
    ended = (
        update(JOB_ATTEMPTS)
        .where(a.job_id.in_(select(done.c.id)), a.attempt == bindparam("p_attempt"))
        .values(finish_values(True, outcome, with_error=with_error))
    )
    return select(func.count()).select_from(done).add_cte(ended.cte("ended"))


def end_attempt(pg: bool, outcome: AttemptOutcome, *, with_error: bool) -> Update:
    """The end of attempt p_attempt of job p_id (SQLite: after its fenced update; the sweep)."""
    return (
        update(JOB_ATTEMPTS)
        .where(*_one(bindparam("p_id"), bindparam("p_attempt")))
        .values(finish_values(pg, outcome, with_error=with_error))
    )


def late_finish(pg: bool) -> Update:
    """An execution returned after it was given up on: its real end, its result rejected. Only
    an attempt given up on (lost, hung), or left open by a writer that did not record it, takes
    it; a cancelled one stays so, and the attempt the row is running is never touched."""
    # ORs of equalities, not IN: the driver path takes no expanding (post-compile) binds.
    open_or_given_up = or_(a.outcome.is_(None), *[a.outcome == o.value for o in GIVEN_UP])
    still_running = (
        select(c.id)
        .where(c.id == bindparam("p_id"), c.status == "RUNNING", c.attempts == bindparam("p_attempt"))
        .exists()
    )
    return (
        update(JOB_ATTEMPTS)
        .where(*_one(bindparam("p_id"), bindparam("p_attempt")), open_or_given_up, ~still_running)
        .values(
            outcome=AttemptOutcome.LATE_FINISH_REJECTED.value, finished_at=NOW, duration_ms=duration_ms(pg)
        )
    )


def cancel_running(pg: bool, attempt: ColumnElement[Any]) -> Update:
    """A cancel of a RUNNING job ends its open attempt `attempt` at the time of the cancel."""
    return (
        update(JOB_ATTEMPTS)
        .where(*_one(bindparam("p_id"), attempt), a.outcome.is_(None))
        .values(outcome=AttemptOutcome.CANCELLED.value, finished_at=NOW, duration_ms=duration_ms(pg))
    )


def delete_of_job() -> Delete:
    return delete(JOB_ATTEMPTS).where(a.job_id == bindparam("p_id"))


# -- reading ---------------------------------------------------------------------------------

# How many times a job was deferred (the runner's max_deferrals cap): served by the unique
# (job_id, attempt) index's job_id prefix; read only when a job asks to be deferred.
DEFERRALS_OF_JOB: Select[Any] = select(func.count()).where(
    a.job_id == bindparam("p_id"), a.outcome == AttemptOutcome.DEFERRED.value
)

# Read back with duration_ms untyped: the driver path asks each column's type for its result
# processor without the driver's type code, which PostgreSQL's Float cannot answer (psycopg
# returns floats as floats anyway; to_attempt makes sure).
READ_COLUMNS = tuple(type_coerce(col, NullType()) if col is a.duration_ms else col for col in ATTEMPT_COLUMNS)
OF_JOB: Select[Any] = select(*READ_COLUMNS).where(a.job_id == bindparam("p_id")).order_by(a.attempt)
if tuple(col.name for col in ATTEMPT_COLUMNS) != ATTEMPT_COLUMN_NAMES:
    raise AssertionError("ATTEMPT_COLUMNS and attempt_rows.ATTEMPT_COLUMN_NAMES disagree")


# -- many successes at once (a worker's completer): one statement on PostgreSQL ---------------

# p_items: a JSON array of {"id", "attempt", "result", "at"} (at: ISO-8601 with its offset).
# Each job is COMPLETED only while that very attempt is RUNNING (COMPLETE's fence, jobs_sql),
# and the attempts the fence let through end `completed` at their own finish time, duration
# computed as duration_ms() does: the same rows complete() + its attempt end write, for the
# whole batch in one round trip and one commit. Returns the ids it completed.
PG_COMPLETE_MANY = text(
    """
WITH x AS (
    SELECT * FROM json_to_recordset(CAST(:p_items AS json))
        AS x(id varchar, attempt integer, result jsonb, at timestamptz)
), done AS (
    UPDATE jobs SET status = :p_completed, result = x.result, finished_at = x.at, updated_at = x.at,
        error_type = NULL, error_message = NULL, error_traceback = NULL
    FROM x
    WHERE jobs.id = x.id AND jobs.status = :p_running AND jobs.attempts = x.attempt
    RETURNING jobs.id, jobs.attempts, x.at
), ended AS (
    UPDATE job_attempts SET outcome = :p_outcome, finished_at = done.at,
        duration_ms = CAST(round(CAST(extract(epoch FROM done.at - job_attempts.started_at) * 1000
            AS numeric), 1) AS float),
        error_type = NULL, error_message = NULL, error_traceback = NULL
    FROM done
    WHERE job_attempts.job_id = done.id AND job_attempts.attempt = done.attempts
)
SELECT id FROM done
"""
)


# -- many claims at once (a worker's slots claiming together): one statement on PostgreSQL ----

_RECORD = ", ".join(f"jobs.{name}" for name in RECORD_COLUMNS_BY_NAME)
# p_items: a JSON array of {"id", "at"}. CLAIM_ROW (jobs_sql) for each job still PENDING, at
# its own claim time, for worker p_worker, and the attempt each claim starts (as pg_claim's
# INSERT does, a leftover row of that number started afresh); returns the claimed rows
# (RECORD_COLUMNS): the same writes as one claim_row() a job, in one round trip and commit.
PG_CLAIM_MANY = text(
    f"""
WITH x AS (
    SELECT * FROM json_to_recordset(CAST(:p_items AS json)) AS x(id varchar, at timestamptz)
), claimed AS (
    UPDATE jobs SET status = :p_running, attempts = jobs.attempts + 1, started_at = x.at,
        worker = :p_worker, next_attempt_at = NULL, updated_at = x.at
    FROM x
    WHERE jobs.id = x.id AND jobs.status = :p_pending
    RETURNING {_RECORD}
), started AS (
    INSERT INTO job_attempts (job_id, attempt, worker, started_at)
    SELECT id, attempts, worker, started_at FROM claimed
    ON CONFLICT (job_id, attempt) DO UPDATE SET worker = excluded.worker,
        started_at = excluded.started_at, finished_at = NULL, duration_ms = NULL, outcome = NULL,
        error_type = NULL, error_message = NULL, error_traceback = NULL
)
SELECT {", ".join(RECORD_COLUMNS_BY_NAME)} FROM claimed
"""
).columns(*RECORD_COLUMNS)  # typed: SQLAlchemy converts them too when it runs the statement
