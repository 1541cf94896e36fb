"""Every execution of a job on record: how an attempt can end, and the record of one attempt.

The `jobs` row keeps only the last run; the `job_attempts` table keeps one record per attempt
(its worker, start, end, duration, outcome and error), so an operator can answer "what
happened to attempts 1 and 2?". An attempt's outcome is None while it runs. Who writes it:

- the execution itself, in the same transaction as the fenced update of the row:
  completed, failed, retry_scheduled, deferred (the job asked to wait: a rate limit said
  when to come back; no retry spent), handed_back (the worker interrupted it: shutdown,
  self-fencing), or hung when its own worker stopped it for making no progress;
- the recovery sweep, when it gives up on an execution: lost (its worker stopped
  heartbeating: dead, cut off, or restarted under the same name) or hung (lease lapsed);
- a cancel of a RUNNING job: cancelled, at the time of the cancel;
- an execution that returns with a result of its own (completed, or failed by the job) after
  it was given up on as lost or hung: late_finish_rejected, with the time it really ended;
  its result changed nothing. One that was stopped (as hung, or interrupted by a self-fencing
  worker) keeps the verdict already recorded. A cancelled attempt stays cancelled: the
  cancel, not the late result, is what ended it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from jobctl.domain.records import JobError, JobRecord


class AttemptOutcome(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"  # the job failed for good on this attempt
    RETRY_SCHEDULED = "retry_scheduled"  # this attempt failed; another one is scheduled
    LOST = "lost"  # the execution was lost with its worker
    HUNG = "hung"  # no progress for the queue's lock duration in a live worker
    CANCELLED = "cancelled"
    HANDED_BACK = "handed_back"  # interrupted by its worker (shutdown): no retry spent
    DEFERRED = "deferred"  # the job asked to wait (rate limit, Retry-After): no retry spent
    LATE_FINISH_REJECTED = "late_finish_rejected"  # finished after it was given up on

    @property
    def is_loss(self) -> bool:
        return self in (AttemptOutcome.LOST, AttemptOutcome.HUNG)


# The outcomes a late finish may replace: the execution was given up on, and then returned.
GIVEN_UP: tuple[AttemptOutcome, ...] = (AttemptOutcome.LOST, AttemptOutcome.HUNG)


@dataclass(frozen=True)
class AttemptRecord:
    """One execution of a job: attempt `attempt` of `job_id` on `worker`."""

    job_id: str
    attempt: int
    worker: str | None
    started_at: datetime
    finished_at: datetime | None
    duration_ms: float | None
    # None while it runs; an AttemptOutcome, or the stored text of an outcome a newer jobctl
    # wrote (see parse_outcome): compare with AttemptOutcome members, print with str().
    outcome: AttemptOutcome | str | None
    error: JobError | None

    @property
    def running(self) -> bool:
        return self.outcome is None

    @property
    def error_line(self) -> str:
        """The error as one line ("Type: first line of the message"), or "" without one."""
        if self.error is None:
            return ""
        first = self.error.message.strip().splitlines()[0] if self.error.message.strip() else ""
        return f"{self.error.type}: {first}" if first else self.error.type

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: datetimes as ISO 8601 UTC, outcome as its name (null while running)."""
        error = None
        if self.error is not None:
            error = {
                "type": self.error.type,
                "message": self.error.message,
                "traceback": self.error.traceback,
            }
        return {
            "attempt": self.attempt,
            "worker": self.worker,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "duration_ms": self.duration_ms,
            "outcome": str(self.outcome) if self.outcome is not None else None,
            "error": error,
        }


def parse_outcome(value: str | None) -> AttemptOutcome | str | None:
    """A stored outcome as the enum; a value this jobctl does not know (a newer one wrote it)
    is kept as text rather than refused, so reading a timeline never fails on it."""
    if value is None:
        return None
    try:
        return AttemptOutcome(value)
    except ValueError:
        return value


@dataclass(frozen=True)
class JobDetail:
    """A job's row and its attempt timeline, as `jobctl jobs show` and the dashboard show it
    (and the HTTP API will serve it)."""

    job: JobRecord
    attempts: tuple[AttemptRecord, ...]

    def to_json(self) -> dict[str, Any]:
        """The row's JSON (JobRecord.to_json) with `"timeline": [...]`, first attempt first.

        Not under "attempts": that key is the row's attempt count in every job document
        (`jobs list --json` too), and scripts compare it with max_attempts."""
        return {**self.job.to_json(), "timeline": [a.to_json() for a in self.attempts]}
