"""The SQL of JobRepository, built once at import: Core statements, bulk inserts, row mapping.

Kept apart from the repository so the repository reads as "which statement, which
parameters, what it means". Parameters are named p_* (SQLAlchemy reserves column names for
the SET clause of an UPDATE).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, TextClause, Update, bindparam, literal, select, text, tuple_, update

from jobctl.domain.records import JobError, JobFilter, JobRecord
from jobctl.domain.status import JobStatus
from jobctl.store.tables import JOBS, UTCDateTime

c = JOBS.c

PENDING, RUNNING = JobStatus.PENDING.value, JobStatus.RUNNING.value
ACTIVE = (PENDING, RUNNING)
ENDED_BADLY = (JobStatus.FAILED.value, JobStatus.CANCELLED.value)

RECORD_COLUMNS = (
    c.id, c.type, c.queue, c.status, c.organization_id, c.payload, c.result,
    c.error_type, c.error_message, c.error_traceback, c.attempts, c.max_attempts,
    c.schedule_id, c.scheduled_for, c.next_attempt_at, c.created_at, c.started_at,
    c.finished_at, c.updated_at, c.worker,
)  # fmt: skip


def to_record(row: Sequence[Any]) -> JobRecord:
    """The one place a `jobs` row (selected as RECORD_COLUMNS) becomes a JobRecord."""
    (id_, type_, queue, status, org, payload, result, err_type, err_msg, err_tb, attempts,
     max_attempts, schedule_id, scheduled_for, next_at, created, started, finished, updated,
     worker) = row  # fmt: skip
    error = None
    if err_type is not None or err_msg is not None:
        error = JobError(type=err_type or "Error", message=err_msg or "", traceback=err_tb)
    return JobRecord(
        id=id_, type=type_, queue=queue, status=JobStatus(status), organization_id=org,
        payload=payload, result=result, error=error, attempts=attempts, max_attempts=max_attempts,
        schedule_id=schedule_id, scheduled_for=scheduled_for, next_attempt_at=next_at,
        created_at=created, started_at=started, finished_at=finished, updated_at=updated,
        worker=worker,
    )  # fmt: skip


def utc(value: datetime) -> datetime:
    """Refuse naive datetimes before they reach SQL (they are always a caller bug)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()}: the store needs aware UTC times")
    return value.astimezone(UTC)


def error_params(error: JobError) -> dict[str, Any]:
    return {
        "p_error_type": error.type,
        "p_error_message": error.message,
        "p_error_traceback": error.traceback,
    }


NOW = bindparam("p_now", type_=UTCDateTime())
_ERROR_VALUES: dict[str, Any] = {
    "error_type": bindparam("p_error_type"),
    "error_message": bindparam("p_error_message"),
    "error_traceback": bindparam("p_error_traceback"),
}
_NO_ERROR: dict[str, Any] = {"error_type": None, "error_message": None, "error_traceback": None}


def _fenced(**values: Any) -> Update:
    """UPDATE of job p_id's execution p_attempt, only while that very execution is RUNNING."""
    return (
        update(JOBS)
        .where(c.id == bindparam("p_id"), c.status == RUNNING, c.attempts == bindparam("p_attempt"))
        .values(updated_at=NOW, **values)
    )


GET = select(*RECORD_COLUMNS).where(c.id == bindparam("p_id"))
CLAIM = (
    update(JOBS)
    .where(c.id == bindparam("p_id"), c.status == PENDING)
    .values(status=RUNNING, attempts=c.attempts + 1, started_at=NOW, worker=bindparam("p_worker"),
            next_attempt_at=None, updated_at=NOW)
    .returning(c.attempts)
)  # fmt: skip
CLAIM_ROW = (
    update(JOBS)
    .where(c.id == bindparam("p_id"), c.status == PENDING)
    .values(status=RUNNING, attempts=c.attempts + 1, started_at=NOW, worker=bindparam("p_worker"),
            next_attempt_at=None, updated_at=NOW)
    .returning(*RECORD_COLUMNS)
)  # fmt: skip
# An execution handed back unfinished (worker shutdown, self-fencing): PENDING again, and the
# attempt it used is given back (max_attempts + 1) so an interruption never spends a retry.
RELEASE = _fenced(status=PENDING, worker=None, next_attempt_at=None, max_attempts=c.max_attempts + 1)
RUNNING_ROWS = select(*RECORD_COLUMNS).where(c.status == RUNNING).order_by(c.started_at).limit(bindparam("p_limit"))
COMPLETE = _fenced(
    status=JobStatus.COMPLETED.value,
    result=bindparam("p_result", type_=c.result.type),
    finished_at=NOW,
    **_NO_ERROR,
)
FAIL = _fenced(status=JobStatus.FAILED.value, finished_at=NOW, **_ERROR_VALUES)
RETRY = _fenced(
    status=PENDING, next_attempt_at=bindparam("p_next", type_=UTCDateTime()), worker=None, **_ERROR_VALUES
)
CANCEL_VALUES: dict[str, Any] = {
    "status": JobStatus.CANCELLED.value, "finished_at": NOW, "next_attempt_at": None, "updated_at": NOW,
}  # fmt: skip
REQUEUE_VALUES: dict[str, Any] = {
    "status": PENDING, "max_attempts": c.attempts + bindparam("p_extra"), "result": None,
    "finished_at": None, "worker": None, "next_attempt_at": None, "updated_at": NOW, **_NO_ERROR,
}  # fmt: skip

# Bulk enqueue: ONE statement whatever the number of rows, its size independent of the
# parameter limits, and no per-row work in SQLAlchemy. PostgreSQL gets one array per column
# (unnest); SQLite one JSON array of rows (json_each; "WHERE true" keeps SQLite's parser from
# reading ON CONFLICT as a join constraint). Rows are [id, type, queue, organization_id,
# payload, max_attempts, schedule_id, scheduled_for]; next_attempt_at = scheduled_for.
_BULK_COLUMNS = (
    "id, type, queue, status, organization_id, payload, attempts, max_attempts, "
    "schedule_id, scheduled_for, next_attempt_at, created_at, updated_at"
)
_TAIL = "ON CONFLICT (id) DO NOTHING RETURNING id"
PG_BULK_INSERT: TextClause = text(
    f"INSERT INTO jobs ({_BULK_COLUMNS}) "
    "SELECT u.id, u.type, u.queue, :p_status, u.org, u.payload, 0, u.max_attempts, "
    "u.schedule_id, u.scheduled_for, u.scheduled_for, :p_now, :p_now "
    "FROM unnest(CAST(:p_ids AS varchar[]), CAST(:p_types AS varchar[]), CAST(:p_queues AS varchar[]), "
    "CAST(:p_orgs AS varchar[]), CAST(:p_payloads AS jsonb[]), CAST(:p_max_attempts AS integer[]), "
    "CAST(:p_schedule_ids AS varchar[]), CAST(:p_scheduled_for AS timestamptz[])) "
    "AS u(id, type, queue, org, payload, max_attempts, schedule_id, scheduled_for) " + _TAIL
).bindparams(bindparam("p_now", type_=UTCDateTime()))
SQLITE_BULK_INSERT: TextClause = text(
    f"INSERT INTO jobs ({_BULK_COLUMNS}) "
    "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), "
    ":p_status, json_extract(value, '$[3]'), json_extract(value, '$[4]'), 0, "
    "json_extract(value, '$[5]'), json_extract(value, '$[6]'), json_extract(value, '$[7]'), "
    "json_extract(value, '$[7]'), :p_now, :p_now "
    "FROM json_each(:p_rows) WHERE true " + _TAIL
).bindparams(bindparam("p_now", type_=UTCDateTime()))


def conditions(flt: JobFilter) -> Iterator[ColumnElement[bool]]:
    """WHERE terms of a JobFilter (single values compare with = so the planner sees a prefix)."""
    for column, values in (
        (c.status, [s.value for s in flt.statuses]),
        (c.type, flt.types),
        (c.queue, flt.queues),
    ):
        if len(values) == 1:
            yield column == values[0]
        elif values:
            yield column.in_(values)
    if flt.organization_id is not None:
        yield c.organization_id == flt.organization_id
    if flt.schedule_id is not None:
        yield c.schedule_id == flt.schedule_id
    if flt.since is not None:
        yield c.created_at >= utc(flt.since)
    if flt.before is not None:
        created, job_id = flt.before
        yield tuple_(c.created_at, c.id) < tuple_(
            literal(utc(created), UTCDateTime()), literal(job_id, c.id.type)
        )
