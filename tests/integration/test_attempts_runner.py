"""The runner's side of the attempt timeline, in-process on real backends: an execution the
sweep gave up on that then returns with its own result is late_finish_rejected; one that was
stopped (as hung) keeps the verdict already recorded; the re-run is its own attempt."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from jobctl.api import JobctlAPI
from jobctl.domain.attempts import AttemptOutcome as O
from jobctl.domain.errors import JobStalledError
from jobctl.domain.status import JobStatus
from jobctl.worker.recovery import sweep
from jobctl.worker.runner import run_job
from jobctl.worker.runtime import WorkerRuntime

Q = "context-scraping"


def _start(api: JobctlAPI, runtime: WorkerRuntime, payload: dict[str, Any]) -> tuple[str, threading.Thread]:
    """Run a ping in a thread, as a worker slot would; return once its row is RUNNING."""
    job = api.enqueue_job("ping", payload, queue=Q)
    thread = threading.Thread(target=run_job, args=(runtime, job.id), daemon=True)
    thread.start()
    for _ in range(200):
        if api.get_job(job.id).status is JobStatus.RUNNING and runtime.running():
            break
        thread.join(0.02)
    assert api.get_job(job.id).status is JobStatus.RUNNING
    return job.id, thread


@pytest.fixture
def runtime(api: JobctlAPI) -> WorkerRuntime:
    # No heartbeat is ever written for this owner: to the sweep it is a dead worker.
    return WorkerRuntime(api.backends, "in-process")


def test_a_late_result_is_rejected_on_the_timeline(api: JobctlAPI, runtime: WorkerRuntime) -> None:
    job_id, thread = _start(api, runtime, {"sleep_s": 1.0})
    assert job_id in sweep(api.backends, datetime.now(UTC)).retried  # given up on: worker "dead"
    assert [a.outcome for a in api.job_attempts(job_id)] == [O.LOST]
    thread.join(10)  # ... but the execution was alive and completes: the fence rejects it
    assert not thread.is_alive()
    (late,) = api.job_attempts(job_id)
    assert late.outcome == O.LATE_FINISH_REJECTED and late.worker == "in-process"
    assert late.duration_ms is not None and late.duration_ms >= 900  # its real end, not the sweep's
    assert late.error is not None and late.error.type == "JobStalledError"  # why it was given up on
    row = api.get_job(job_id)
    assert row.status is JobStatus.PENDING and row.attempts == 1  # the re-run is still to come
    run_job(runtime, job_id)  # the re-run (the RQ side was re-queued by the sweep)
    assert [(a.attempt, a.outcome) for a in api.job_attempts(job_id)] == [
        (1, O.LATE_FINISH_REJECTED),
        (2, O.COMPLETED),
    ]


def test_a_stopped_execution_keeps_its_hung_verdict(api: JobctlAPI, runtime: WorkerRuntime) -> None:
    job_id, thread = _start(api, runtime, {"sleep_s": 30})
    assert job_id in sweep(api.backends, datetime.now(UTC)).retried
    (execution,) = runtime.running()
    runtime.stop(execution, JobStalledError)  # what the monitor does to a job without progress
    thread.join(10)
    assert not thread.is_alive()
    assert [a.outcome for a in api.job_attempts(job_id)] == [O.LOST]  # not rewritten
    detail = api.show_job(job_id)
    assert detail.job.id == job_id and [a.attempt for a in detail.attempts] == [1]
    assert detail.to_json()["timeline"][0]["outcome"] == "lost" and detail.to_json()["attempts"] == 1


class _RateLimited:
    """A refresh-token processor whose service answers 429 with Retry-After: 120."""

    job_type = "refresh-token"

    def run(self, payload: Any, ctx: Any) -> Any:
        from jobctl.domain.errors import JobDeferredError

        raise JobDeferredError("rate limited by the platform (HTTP 429)", retry_after_s=119.2)


def test_a_deferred_job_comes_back_when_the_service_said(api: JobctlAPI) -> None:
    """JobDeferredError(retry_after_s) schedules the retry then, not after the policy's wait."""
    from jobctl.processors.registry import build_registry

    registry = build_registry(extra={"refresh-token": _RateLimited})
    producer = JobctlAPI(api.settings, registry=registry)
    try:
        job = producer.enqueue_job("refresh-token", {"social_account_id": "acct-1"}, organization_id="acme")
    finally:
        producer.close()
    from jobctl.domain.errors import JobDeferredError

    before = datetime.now(UTC)
    with pytest.raises(JobDeferredError):  # re-raised for RQ, which schedules what the row says
        run_job(WorkerRuntime(api.backends, "in-process", registry=registry), job.id)
    row = api.get_job(job.id)
    assert row.status is JobStatus.PENDING and row.attempts == 1
    assert row.next_attempt_at is not None
    wait = (row.next_attempt_at - before).total_seconds()
    assert 119 <= wait <= 125, wait  # Retry-After (rounded up), not the policy's first wait
    assert [a.outcome for a in api.job_attempts(job.id)] == [O.RETRY_SCHEDULED]
