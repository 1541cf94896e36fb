"""A `job_attempts` row (attempts_sql.ATTEMPT_COLUMNS, in order) as an AttemptRecord.

No SQLAlchemy here: the repository (rows already converted by the driver statement's result
processors) and the driver-only reader (reader.py, which passes its own datetime reader)
share it, so both build the same records.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from jobctl.domain.attempts import AttemptRecord, parse_outcome
from jobctl.domain.records import JobError

ATTEMPT_COLUMN_NAMES: tuple[str, ...] = (
    "job_id", "attempt", "worker", "started_at", "finished_at", "duration_ms", "outcome",
    "error_type", "error_message", "error_traceback",
)  # fmt: skip


def _same(value: Any) -> datetime | None:
    return value  # type: ignore[no-any-return]


def to_attempt(row: Sequence[Any], to_utc: Callable[[Any], datetime | None] = _same) -> AttemptRecord:
    """The one place a `job_attempts` row becomes an AttemptRecord. `to_utc` reads a stored
    datetime (the identity when the driver statement converted it already)."""
    job_id, attempt, worker, started, finished, duration, outcome, err_type, err_msg, err_tb = row
    error = None
    if err_type is not None or err_msg is not None:
        error = JobError(type=err_type or "Error", message=err_msg or "", traceback=err_tb)
    started_at = to_utc(started)
    assert started_at is not None  # NOT NULL in the schema
    return AttemptRecord(
        job_id=job_id,
        attempt=int(attempt),
        worker=worker,
        started_at=started_at,
        finished_at=to_utc(finished) if finished is not None else None,
        duration_ms=float(duration) if duration is not None else None,
        outcome=parse_outcome(outcome),
        error=error,
    )
