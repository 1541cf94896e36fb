"""The one RQ entry point: runs a job by id, keeping its SQL row the system of record.

Flow: claim the row (PENDING -> RUNNING, attempts + 1: the attempt number is the fencing token),
validate the payload, run the processor, then record COMPLETED / FAILED / PENDING-for-retry /
PENDING-deferred (the job asked to wait, JobDeferredError: no retry spent) with an update
fenced on that attempt number — an execution that was given up on cannot overwrite
newer state. Failures are re-raised so RQ files the job exactly as the row says: scheduled for
the retry we decided, or in its FailedJobRegistry. When this execution no longer owns the job
(cancelled, recovered, handed back), it returns a marker and the worker leaves RQ's job alone.
"""

from __future__ import annotations

import json
import logging
import math
import time
import traceback
from datetime import timedelta
from typing import Any

from rq import get_current_job

from jobctl.domain.attempts import AttemptOutcome
from jobctl.domain.errors import (
    ExecutionInterrupted,
    JobCancelledError,
    JobDeferredError,
    JobProcessingError,
    JobStalledError,
    PayloadValidationError,
    UnknownJobTypeError,
    UnsafeJobError,
)
from jobctl.domain.records import JobError, JobRecord
from jobctl.domain.redaction import redact
from jobctl.domain.status import JobStatus
from jobctl.domain.timeparse import utcnow
from jobctl.processors.base import JobContext
from jobctl.queue import events
from jobctl.worker.completer import Finished
from jobctl.worker.popper import take_claim
from jobctl.worker.runtime import Execution, WorkerRuntime

log = logging.getLogger("jobctl.runner")


class Marker:
    """What an execution tells the worker instead of a result (never stored in Redis)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


CANCELLED = Marker("cancelled")  # the row is CANCELLED: file the RQ job as canceled
HANDS_OFF = Marker("hands-off")  # someone else owns the job now: touch only this execution

_runtime: WorkerRuntime | None = None


def install_runtime(runtime: WorkerRuntime | None) -> None:
    """The worker installs its runtime before it takes jobs."""
    global _runtime
    _runtime = runtime


def current_runtime() -> WorkerRuntime:
    global _runtime
    if _runtime is None:
        # Run by a plain `rq worker` with jobctl's job class: build a runtime from settings.
        import os
        import socket

        from jobctl.queue.backends import Backends
        from jobctl.settings import load_settings

        _runtime = WorkerRuntime(Backends(load_settings()), f"{socket.gethostname()}.{os.getpid()}")
    return _runtime


def execute(job_id: str) -> Any:
    """RQ entry point (jobctl.queue.runner.execute). Results live in SQL, not in Redis."""
    return run_job(current_runtime(), job_id)


def _fields(row: JobRecord, attempt: int, **more: Any) -> dict[str, Any]:
    return {"job_id": row.id, "job_type": row.type, "queue": row.queue, "attempt": attempt, **more}


def _claim(runtime: WorkerRuntime, job_id: str) -> JobRecord | None:
    claimed = take_claim(get_current_job(), job_id)  # claimed with its pop (jobctl.worker.popper)
    if claimed is not None:
        return claimed.result()
    claimer = runtime.claimer  # the pool's slots claim together (jobctl.worker.claimer)
    if claimer is not None:
        return claimer.claim(job_id, utcnow())
    return runtime.backends.repo.claim_row(job_id, runtime.owner, utcnow())


def run_job(runtime: WorkerRuntime, job_id: str) -> Any:
    row = _claim(runtime, job_id)
    if row is None:
        return _not_claimed(runtime, job_id)
    attempt = row.attempts
    ctx = JobContext(
        job_id=row.id, job_type=row.type, queue=row.queue, attempt=attempt,
        max_attempts=row.max_attempts, organization_id=row.organization_id, worker=runtime.owner,
        sink=runtime.progress, rate_gate=runtime.rate_gate, redis=runtime.backends.redis,
    )  # fmt: skip
    execution = Execution(
        job_id=job_id, job_type=row.type, queue=row.queue, attempt=attempt, ctx=ctx,
        lock_s=runtime.lock_seconds(row.queue),
    )  # fmt: skip
    log.info("job running", extra=_fields(row, attempt, status="RUNNING", worker=runtime.owner))
    runtime.emit(row, events.STARTED, "PENDING", "RUNNING", attempt)
    runtime.metrics.inc("jobs_started", row.queue, row.type)
    runtime.begin(execution)
    started = time.monotonic()
    try:
        result = _perform(runtime, row, execution)
    except BaseException as exc:
        runtime.end(job_id)
        took = time.monotonic() - started
        runtime.metrics.observe(row.queue, row.type, took)
        outcome = _record_failure(runtime, row, execution, exc, round(took * 1000, 1))
        if outcome is None:
            exc._jobctl_logged = True  # type: ignore[attr-defined]  # the worker need not log it again
            raise
        return outcome
    runtime.end(job_id)
    took = time.monotonic() - started
    runtime.metrics.observe(row.queue, row.type, took)
    finished = Finished(row, attempt, result, utcnow(), took)
    if runtime.completer is not None and get_current_job() is not None:
        return finished  # jobctl's slot hands it to the completer, which records it in a batch
    return complete_now(runtime, finished)


def complete_now(runtime: WorkerRuntime, finished: Finished) -> Marker | None:
    """Record one successful execution (fenced on its attempt); None, or the marker that tells
    the worker how to file RQ's job when the row was no longer this execution's."""
    ok = runtime.backends.repo.complete(
        finished.row.id, finished.attempt, finished.result, finished.finished_at
    )
    return recorded_completion(runtime, finished.row, finished.attempt, finished.took_s, ok)


def recorded_completion(
    runtime: WorkerRuntime, row: JobRecord, attempt: int, took_s: float, ok: bool
) -> Marker | None:
    """After the fenced COMPLETE: count and log it, or report the late finish it was."""
    if ok:
        runtime.emit(row, events.COMPLETED, "RUNNING", "COMPLETED", attempt)
        runtime.metrics.inc("jobs_completed", row.queue, row.type)
        log.info(
            "job completed",
            extra=_fields(row, attempt, status="COMPLETED", duration_ms=round(took_s * 1000, 1)),
        )
        return None
    return _late_finish(runtime, row, attempt, "COMPLETED")


def _perform(runtime: WorkerRuntime, row: JobRecord, execution: Execution) -> Any:
    spec = runtime.registry.runnable_spec(row.type)
    processor = runtime.registry.processors[spec.name]
    model = spec.payload_model.model_validate(row.payload)
    with execution.interruptible.region():
        execution.ctx.check_cancelled()
        result = processor.run(model, execution.ctx)
    try:
        json.dumps(result)
    except (TypeError, ValueError) as exc:
        raise JobProcessingError(f"processor returned a result that is not JSON: {exc}") from None
    return result


def _as_payload_error(row: JobRecord, exc: BaseException) -> BaseException:
    from pydantic import ValidationError

    from jobctl.domain.payloads import error_path

    if isinstance(exc, ValidationError):
        errors = [(error_path(tuple(e["loc"])), str(e["msg"])) for e in exc.errors()]
        return PayloadValidationError(row.type, errors)
    return exc


_NOT_RETRYABLE = (PayloadValidationError, UnknownJobTypeError, UnsafeJobError)


def error_of(exc: BaseException) -> JobError:
    tb = "".join(traceback.format_exception(exc))
    return JobError(
        type=type(exc).__name__, message=redact(str(exc)) or type(exc).__name__, traceback=redact(tb)
    )


def _record_failure(
    runtime: WorkerRuntime, row: JobRecord, execution: Execution, exc: BaseException, duration_ms: float
) -> Marker | None:
    """Decide retry, fail or hand back; write it to the row (fenced); tell RQ the same.

    Returns None when RQ should see the exception (it then schedules the retry or files the
    failure), or a marker when this execution must leave RQ's job alone."""
    attempt = execution.attempt
    reason = execution.stop_reason
    if isinstance(exc, JobCancelledError | ExecutionInterrupted) and reason is not None:
        exc = reason()  # a cooperative wait saw the event: report why it was set
    if isinstance(exc, JobCancelledError):
        current = runtime.backends.repo.get(row.id)
        if current is not None and current.status == JobStatus.CANCELLED:
            runtime.metrics.inc("jobs_cancelled", row.queue, row.type)
            log.info("job cancelled while running", extra=_fields(row, attempt, status="CANCELLED"))
            return CANCELLED
    if isinstance(exc, ExecutionInterrupted) and not isinstance(exc, JobStalledError):
        return hand_back(runtime, row, attempt, str(exc))
    return _fail_or_retry(runtime, row, attempt, _as_payload_error(row, exc), duration_ms)


def _fail_or_retry(
    runtime: WorkerRuntime, row: JobRecord, attempt: int, exc: BaseException, duration_ms: float
) -> Marker | None:
    repo = runtime.backends.repo
    rq_job = get_current_job()
    now = utcnow()
    at_least = 0  # a deferral past its cap still waits as long as the service asked
    if isinstance(exc, JobDeferredError):
        wait = deferral_wait(exc)
        over = _over_deferral_cap(runtime, row, exc)
        if over is None:
            return _defer(runtime, row, attempt, exc, wait=wait, took_ms=duration_ms)
        exc, at_least = over, wait
    error = error_of(exc)
    retryable = not isinstance(exc, _NOT_RETRYABLE) and getattr(exc, "retryable", True)
    lost = isinstance(exc, JobStalledError)  # hung: the first loss of a job re-runs at once
    if lost:
        from jobctl.worker.recovery import loss_delay

        delay = loss_delay(runtime.backends, row, attempt)
    else:
        delay = runtime.policy.delay_for(attempt, row.max_attempts) if retryable else None
        if delay is not None:
            delay = max(delay, at_least)
    fields = _fields(row, attempt, duration_ms=duration_ms, error=f"{error.type}: {error.message}")
    hung = {"outcome": AttemptOutcome.HUNG} if lost else {}  # else: retry_scheduled / failed
    if delay is not None:
        if not repo.schedule_retry(row.id, attempt, error, now + timedelta(seconds=delay), now, **hung):
            _unnote(runtime, row, lost)
            return _late_finish(runtime, row, attempt, "FAILED", record=not lost)
        kind = events.LOST if lost else events.RETRY
        next_at = now + timedelta(seconds=delay)
        runtime.emit(row, kind, "RUNNING", "PENDING", attempt, error=error, next_attempt_at=next_at)
        runtime.metrics.inc("jobs_retried", row.queue, row.type)
        log.warning(f"job failed, retry in {delay}s", extra={**fields, "status": "PENDING"})
        _rq_retry_in(rq_job, delay)
        return None
    if not repo.fail(row.id, attempt, error, now, **hung):
        _unnote(runtime, row, lost)
        return _late_finish(runtime, row, attempt, "FAILED", record=not lost)
    runtime.emit(row, events.LOST if lost else events.FAILED, "RUNNING", "FAILED", attempt, error=error)
    runtime.metrics.inc("jobs_failed", row.queue, row.type)
    log.error("job failed", extra={**fields, "status": "FAILED"})
    if rq_job is not None:
        rq_job.retries_left = 0
    return None


def _rq_retry_in(rq_job: Any, delay: int) -> None:
    """Make RQ do exactly what the row says: run the job once more, `delay` seconds from now
    (RQ's retry puts it in the queue's ScheduledJobRegistry; the row's budget is jobctl's)."""
    if rq_job is not None:
        rq_job.retries_left = 1
        rq_job.retry_intervals = [delay]


DEFAULT_DEFER_S = 60  # a deferral that names no time: one minute, the usual rate-limit window


def deferral_wait(exc: JobDeferredError) -> int:
    """Whole seconds until the deferred job runs again: what the service said (rounded up, at
    least 1 s), else DEFAULT_DEFER_S."""
    if exc.retry_after_s is None:
        return DEFAULT_DEFER_S
    return max(1, math.ceil(exc.retry_after_s))


def _over_deferral_cap(runtime: WorkerRuntime, row: JobRecord, exc: JobDeferredError) -> BaseException | None:
    """None while the job may still defer; past `[jobs] max_deferrals`, the retryable failure
    to record instead (a job that is told to wait for ever must end some day)."""
    cap = runtime.settings.max_deferrals
    done = runtime.backends.repo.deferrals(row.id) if cap > 0 else 0
    if done < cap:
        return None
    return JobProcessingError(
        f"{exc.message} (deferred {done} times already, the limit: [jobs] max_deferrals = {cap}, "
        "JOBCTL_MAX_DEFERRALS; this attempt counts as failed)"
    )


def _defer(
    runtime: WorkerRuntime, row: JobRecord, attempt: int, exc: JobDeferredError, *, wait: int, took_ms: float
) -> Marker | None:
    """PENDING again in `wait` seconds, the attempt ended `deferred` and given back (the retry
    budget stays), no failure counted; RQ re-runs it then, through its scheduled registry."""
    now = utcnow()
    at = now + timedelta(seconds=wait)
    # When first: the timeline's one-line error is cut at 100 characters.
    message = f"deferred {wait}s, until {at:%Y-%m-%d %H:%M:%S}Z (no retry spent): {redact(exc.message)}"
    error = JobError(type=type(exc).__name__, message=message)  # a wait, not a crash: no traceback
    if not runtime.backends.repo.defer(row.id, attempt, error, at, now):
        return _late_finish(runtime, row, attempt, "deferred")
    runtime.emit(row, events.DEFERRED, "RUNNING", "PENDING", attempt, error=error, next_attempt_at=at)
    runtime.metrics.inc("jobs_deferred", row.queue, row.type)
    log.info(
        f"job deferred for {wait}s (no retry spent)",
        extra=_fields(row, attempt, status="PENDING", event="deferred", duration_ms=took_ms, error=message),
    )
    _rq_retry_in(get_current_job(), wait)
    return None


def _unnote(runtime: WorkerRuntime, row: JobRecord, lost: bool) -> None:
    if lost:  # the sweep (or a cancel) recorded this execution's end first
        from jobctl.worker.recovery import unnote_loss

        unnote_loss(runtime.backends.redis, row.id)


def hand_back(runtime: WorkerRuntime, row: JobRecord, attempt: int, why: str) -> Marker:
    """The worker interrupted the run (shutdown, self-fencing): PENDING again without spending a
    retry, and back in its RQ queue — done only by whoever wins the fenced update."""
    from jobctl.worker.recovery import requeue_in_rq

    if runtime.backends.repo.release(row.id, attempt, utcnow()):
        runtime.emit(row, events.RELEASED, "RUNNING", "PENDING", attempt)
        runtime.events.flush()  # before the re-enqueue: another worker's "started" comes after
        requeue_in_rq(runtime.backends, row.id)
        runtime.metrics.inc("jobs_released", row.queue, row.type)
        log.warning(
            f"job handed back: {why}", extra=_fields(row, attempt, status="PENDING", event="released")
        )
    else:
        _late_finish(runtime, row, attempt, "interrupted", record=False)
    return HANDS_OFF


def _late_finish(
    runtime: WorkerRuntime, row: JobRecord, attempt: int, outcome: str, *, record: bool = True
) -> Marker:
    # On the attempt timeline only when the job itself finished late (`record`): an execution
    # stopped as hung or interrupted agrees with the lost/hung verdict already recorded.
    if record:
        runtime.backends.repo.reject_late_finish(row.id, attempt, utcnow())
    current = runtime.backends.repo.get(row.id)
    status = current.status.value if current else "missing"
    runtime.metrics.inc("late_finishes_rejected", row.queue, row.type)
    log.warning(
        f"late finish rejected: attempt {attempt} ended {outcome} but the job is now {status}"
        f" (attempt {current.attempts if current else '?'})",
        extra=_fields(row, attempt, event="late-finish-rejected", status=status),
    )
    if current is not None and current.status == JobStatus.CANCELLED and current.attempts == attempt:
        return CANCELLED
    return HANDS_OFF


def _not_claimed(runtime: WorkerRuntime, job_id: str) -> Marker:
    """The RQ job came up but its row is not PENDING: cancelled, duplicate, or unknown."""
    row = runtime.backends.repo.get(job_id)
    if row is None:
        rq_job = get_current_job()
        if rq_job is not None:
            rq_job.retries_left = 0
        raise UnsafeJobError(f"RQ job {job_id} has no row in the Job table; refused")
    if row.status == JobStatus.CANCELLED:
        log.info("skipped cancelled job", extra={"job_id": job_id, "event": "skip-cancelled"})
        return CANCELLED
    log.warning(
        f"skipped delivery: job is {row.status.value}",
        extra={"job_id": job_id, "event": "skip-not-pending", "status": row.status.value},
    )
    return HANDS_OFF
