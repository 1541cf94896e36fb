"""The `job_attempts` table: one row per execution of a job (migration 0004).

No `from __future__ import annotations` (SQLModel reads annotations at class creation).
The `jobs` row keeps only the last run; this table keeps every attempt's worker, times and
outcome (jobctl.domain.attempts.AttemptOutcome: completed, failed, retry_scheduled, deferred,
lost, hung, cancelled, handed_back, late_finish_rejected) with its error, so operators see a job's whole
timeline. Unique per (job_id, attempt): an attempt is recorded once, started then finished.
Writers: jobctl.store.attempt_writes; readers: JobRepository.attempts and store.reader.
"""

from datetime import datetime

from sqlalchemy import Column, Float, Index, Integer, String, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from jobctl.domain.attempts import AttemptOutcome
from jobctl.store.tables import UTCDateTime

OUTCOMES: tuple[str, ...] = tuple(o.value for o in AttemptOutcome)


class JobAttempt(SQLModel, table=True):
    """One execution of a job: attempt n of job_id on `worker`; outcome NULL while it runs."""

    __tablename__ = "job_attempts"
    __table_args__ = (
        UniqueConstraint("job_id", "attempt", name="uq_job_attempts_job_id_attempt"),
        Index("ix_job_attempts_started_at", "started_at"),
    )

    id: int | None = Field(
        default=None, sa_column=Column("id", Integer, primary_key=True, autoincrement=True)
    )
    job_id: str = Field(sa_column=Column("job_id", String(128), nullable=False))
    attempt: int = Field(sa_column=Column("attempt", Integer, nullable=False))
    worker: str | None = Field(default=None, sa_column=Column("worker", String(255)))
    started_at: datetime = Field(sa_column=Column("started_at", UTCDateTime, nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column("finished_at", UTCDateTime))
    duration_ms: float | None = Field(default=None, sa_column=Column("duration_ms", Float))
    outcome: str | None = Field(default=None, sa_column=Column("outcome", String(32)))
    error_type: str | None = Field(default=None, sa_column=Column("error_type", Text))
    error_message: str | None = Field(default=None, sa_column=Column("error_message", Text))
    error_traceback: str | None = Field(default=None, sa_column=Column("error_traceback", Text))


JOB_ATTEMPTS: Table = SQLModel.metadata.tables["job_attempts"]
