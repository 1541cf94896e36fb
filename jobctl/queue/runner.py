"""The one RQ entry point: runs a job by id, keeping its SQL row the system of record.

Flow: claim the row (PENDING -> RUNNING, attempts + 1: the attempt number is the fencing token),
validate the payload, run the processor, then record COMPLETED / FAILED / PENDING-for-retry with
an update fenced on that attempt number — an execution that was given up on cannot overwrite
newer state. Failures are re-raised so RQ files the job exactly as the row says: scheduled for
the retry we decided, or in its FailedJobRegistry.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from datetime import timedelta
from typing import Any

from rq import get_current_job

from jobctl.domain.errors import (
    JobCancelledError,
    JobProcessingError,
    PayloadValidationError,
    UnknownJobTypeError,
    UnsafeJobError,
)
from jobctl.domain.records import JobError, JobRecord
from jobctl.domain.redaction import redact
from jobctl.domain.status import JobStatus
from jobctl.domain.timeparse import utcnow
from jobctl.processors.base import JobContext
from jobctl.queue.runtime import Execution, WorkerRuntime

log = logging.getLogger("jobctl.runner")

_runtime: WorkerRuntime | None = None


def install_runtime(runtime: WorkerRuntime | None) -> None:
    """The worker installs its runtime before it takes jobs."""
    global _runtime
    _runtime = runtime


def _current_runtime() -> WorkerRuntime:
    global _runtime
    if _runtime is None:
        # Run by a plain `rq worker` with jobctl's job class: build a runtime from settings.
        import os
        import socket

        from jobctl.queue.backends import Backends
        from jobctl.settings import load_settings

        _runtime = WorkerRuntime(Backends(load_settings()), f"{socket.gethostname()}.{os.getpid()}")
    return _runtime


def execute(job_id: str) -> None:
    """RQ entry point (jobctl.queue.runner.execute). Returns None: results live in SQL."""
    runtime = _current_runtime()
    run_job(runtime, job_id)


def _fields(row: JobRecord, attempt: int, **more: Any) -> dict[str, Any]:
    return {"job_id": row.id, "job_type": row.type, "queue": row.queue, "attempt": attempt, **more}


def run_job(runtime: WorkerRuntime, job_id: str) -> None:
    repo = runtime.backends.repo
    attempt = repo.claim(job_id, runtime.worker_name, utcnow())
    if attempt is None:
        _not_claimed(runtime, job_id)
        return
    row = repo.get(job_id)
    assert row is not None
    ctx = JobContext(
        job_id=row.id,
        job_type=row.type,
        queue=row.queue,
        attempt=attempt,
        max_attempts=row.max_attempts,
        organization_id=row.organization_id,
        worker=runtime.worker_name,
    )
    execution = Execution(job_id=job_id, attempt=attempt, ctx=ctx)
    log.info("job running", extra=_fields(row, attempt, status="RUNNING", worker=runtime.worker_name))
    runtime.begin(execution)
    started = time.monotonic()
    try:
        result = _perform(runtime, row, execution)
    except BaseException as exc:
        runtime.end(job_id)
        duration_ms = round((time.monotonic() - started) * 1000, 1)
        if _record_failure(runtime, row, attempt, exc, duration_ms):
            raise
        return  # cancelled: the worker files it under RQ's CanceledJobRegistry
    runtime.end(job_id)
    duration_ms = round((time.monotonic() - started) * 1000, 1)
    if repo.complete(job_id, attempt, result, utcnow()):
        log.info("job completed", extra=_fields(row, attempt, status="COMPLETED", duration_ms=duration_ms))
    else:
        _late_finish(runtime, row, attempt, "COMPLETED")


def _perform(runtime: WorkerRuntime, row: JobRecord, execution: Execution) -> Any:
    spec = runtime.registry.runnable_spec(row.type)
    processor = runtime.registry.processors[spec.name]
    model = spec.payload_model.model_validate(row.payload) if row.payload is not None else None
    with execution.interruptible.region():
        execution.ctx.check_cancelled()
        result = processor.run(model, execution.ctx)
    try:
        json.dumps(result)
    except (TypeError, ValueError) as exc:
        raise JobProcessingError(f"processor returned a result that is not JSON: {exc}") from None
    return result


def _validation_as_payload_error(row: JobRecord, exc: BaseException) -> BaseException:
    from pydantic import ValidationError

    from jobctl.domain.payloads import error_path

    if isinstance(exc, ValidationError):
        errors = [(error_path(tuple(e["loc"])), str(e["msg"])) for e in exc.errors()]
        return PayloadValidationError(row.type, errors)
    return exc


_NOT_RETRYABLE = (PayloadValidationError, UnknownJobTypeError, UnsafeJobError)


def _error_of(exc: BaseException) -> JobError:
    tb = "".join(traceback.format_exception(exc))
    return JobError(
        type=type(exc).__name__, message=redact(str(exc)) or type(exc).__name__, traceback=redact(tb)
    )


def _record_failure(
    runtime: WorkerRuntime, row: JobRecord, attempt: int, exc: BaseException, duration_ms: float
) -> bool:
    """Decide retry or fail, write it to the row (fenced), and tell RQ the same decision.

    Returns whether RQ should see the exception (False only for an operator's cancel)."""
    repo = runtime.backends.repo
    rq_job = get_current_job()
    exc = _validation_as_payload_error(row, exc)
    now = utcnow()
    if isinstance(exc, JobCancelledError):
        current = repo.get(row.id)
        if current is not None and current.status == JobStatus.CANCELLED:
            runtime.cancelled.add(row.id)
            log.info("job cancelled while running", extra=_fields(row, attempt, status="CANCELLED"))
            return False
    error = _error_of(exc)
    retryable = not isinstance(exc, _NOT_RETRYABLE) and getattr(exc, "retryable", True)
    delay = _retry_delay(runtime, row, attempt) if retryable else None
    fields = _fields(row, attempt, duration_ms=duration_ms, error=f"{error.type}: {error.message}")
    if delay is not None:
        ok = repo.schedule_retry(row.id, attempt, error, now + timedelta(seconds=delay), now)
        if ok:
            log.warning(f"job failed, retry in {delay}s", extra={**fields, "status": "PENDING"})
        if rq_job is not None:
            # Make RQ do exactly what the row says: one retry, after `delay` seconds.
            rq_job.retries_left = 1 if ok else 0
            rq_job.retry_intervals = [delay]
    else:
        ok = repo.fail(row.id, attempt, error, now)
        if ok:
            log.error("job failed", extra={**fields, "status": "FAILED"})
        if rq_job is not None:
            rq_job.retries_left = 0
    if not ok:
        _late_finish(runtime, row, attempt, "FAILED")
    return True


def _retry_delay(runtime: WorkerRuntime, row: JobRecord, attempt: int) -> int | None:
    """Seconds before the next attempt, or None when the attempt budget is spent.

    After an operator's retry, max_attempts grows by a whole budget; the retry number within
    the current budget picks the interval.
    """
    if attempt >= row.max_attempts:
        return None
    policy = runtime.policy
    within_budget = attempt - max(0, row.max_attempts - policy.max_attempts)
    if not policy.intervals:
        return 0
    index = min(max(within_budget, 1), len(policy.intervals)) - 1
    return policy.intervals[index]


def _late_finish(runtime: WorkerRuntime, row: JobRecord, attempt: int, outcome: str) -> None:
    current = runtime.backends.repo.get(row.id)
    status = current.status.value if current else "missing"
    if current is not None and current.status == JobStatus.CANCELLED:
        runtime.cancelled.add(row.id)
    log.warning(
        f"late finish rejected: attempt {attempt} ended {outcome} but the job is now {status}"
        f" (attempt {current.attempts if current else '?'})",
        extra=_fields(row, attempt, event="late-finish-rejected", status=status),
    )


def _not_claimed(runtime: WorkerRuntime, job_id: str) -> None:
    """The RQ job came up but its row is not PENDING: cancelled, duplicate, or unknown."""
    row = runtime.backends.repo.get(job_id)
    if row is None:
        rq_job = get_current_job()
        if rq_job is not None:
            rq_job.retries_left = 0
        raise UnsafeJobError(f"RQ job {job_id} has no row in the Job table; refused")
    if row.status == JobStatus.CANCELLED:
        runtime.cancelled.add(job_id)
        log.info("skipped cancelled job", extra={"job_id": job_id, "event": "skip-cancelled"})
        return
    log.warning(
        f"skipped delivery: job is {row.status.value}",
        extra={"job_id": job_id, "event": "skip-not-pending", "status": row.status.value},
    )
