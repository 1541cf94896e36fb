"""The runner's side of the attempt timeline, in-process on real backends: an execution the
sweep gave up on that then returns with its own result is late_finish_rejected; one that was
stopped (as hung) keeps the verdict already recorded; the re-run is its own attempt."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
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
    retry_after_s: float | None = 120

    def run(self, payload: Any, ctx: Any) -> Any:
        from jobctl.domain.errors import JobDeferredError

        raise JobDeferredError("rate limited by the platform (HTTP 429)", retry_after_s=self.retry_after_s)


class _Busy(_RateLimited):
    retry_after_s = None  # "come back later", without saying when


Deferring = Callable[..., tuple[str, WorkerRuntime]]


@pytest.fixture
def deferring(api: JobctlAPI) -> Iterator[Deferring]:
    """make(processor, **settings): a refresh-token job whose processor defers, and a runtime
    whose settings differ from the test's by `settings`."""
    from dataclasses import replace

    from jobctl.processors.registry import build_registry

    opened: list[JobctlAPI] = []

    def make(processor: type[_RateLimited], **settings: Any) -> tuple[str, WorkerRuntime]:
        registry = build_registry(extra={"refresh-token": processor})
        producer = JobctlAPI(replace(api.settings, **settings), registry=registry)
        opened.append(producer)
        job = producer.enqueue_job("refresh-token", {"social_account_id": "acct-1"}, organization_id="acme")
        return job.id, WorkerRuntime(producer.backends, "in-process", registry=registry)

    yield make
    for producer in opened:
        producer.close()


def test_a_deferred_job_waits_without_spending_a_retry(api: JobctlAPI, deferring: Deferring) -> None:
    """JobDeferredError(retry_after_s=120): PENDING until then, the attempt ends `deferred`,
    the retry budget (max_attempts - attempts) stays, and nothing counts as a failure."""
    from jobctl.domain.errors import JobDeferredError

    job_id, runtime = deferring(_RateLimited)
    fresh = api.get_job(job_id)
    budget = fresh.max_attempts - fresh.attempts
    before = datetime.now(UTC)
    with pytest.raises(JobDeferredError):  # re-raised for RQ, which re-runs it when the row says
        run_job(runtime, job_id)
    row = api.get_job(job_id)
    assert row.status is JobStatus.PENDING and row.status is not JobStatus.FAILED
    assert row.attempts == 1 and row.max_attempts - row.attempts == budget  # no retry spent
    assert row.next_attempt_at is not None
    wait = (row.next_attempt_at - before).total_seconds()
    assert 120 <= wait <= 125, wait  # Retry-After, not the policy's first wait (1 s here)
    (deferred,) = api.job_attempts(job_id)
    assert deferred.outcome == O.DEFERRED and deferred.error is not None
    assert deferred.error.type == "JobDeferredError" and deferred.error.traceback is None
    assert deferred.error.message.startswith("deferred 120s, until ")
    assert "(no retry spent): rate limited by the platform (HTTP 429)" in deferred.error.message
    counts = {name: sum(by.values()) for name, by in runtime.metrics.counters.items()}
    assert counts["jobs_deferred"] == 1
    assert counts["jobs_failed"] == counts["jobs_retried"] == 0
    # It comes back, defers again: still no retry spent, each deferral its own attempt row.
    with pytest.raises(JobDeferredError):
        run_job(runtime, job_id)
    row = api.get_job(job_id)
    assert (row.attempts, row.max_attempts - row.attempts) == (2, budget)
    assert [a.outcome for a in api.job_attempts(job_id)] == [O.DEFERRED, O.DEFERRED]
    assert api.backends.repo.deferrals(job_id) == 2


def test_a_deferral_without_a_time_waits_a_minute(api: JobctlAPI, deferring: Deferring) -> None:
    from jobctl.domain.errors import JobDeferredError
    from jobctl.worker.runner import DEFAULT_DEFER_S

    job_id, runtime = deferring(_Busy)
    before = datetime.now(UTC)
    with pytest.raises(JobDeferredError):
        run_job(runtime, job_id)
    row = api.get_job(job_id)
    assert row.next_attempt_at is not None and row.status is JobStatus.PENDING
    assert DEFAULT_DEFER_S == 60
    assert 60 <= (row.next_attempt_at - before).total_seconds() <= 65
    assert [a.outcome for a in api.job_attempts(job_id)] == [O.DEFERRED]


def test_past_max_deferrals_a_deferral_is_an_ordinary_failure(api: JobctlAPI, deferring: Deferring) -> None:
    """[jobs] max_deferrals = 2: the third request to wait spends a retry (still waiting as long
    as the service asked), and says why; once the budget is gone the job ends FAILED."""
    from jobctl.domain.errors import JobProcessingError

    job_id, runtime = deferring(_RateLimited, max_deferrals=2)
    for _ in range(2):
        with pytest.raises(JobProcessingError):
            run_job(runtime, job_id)
    row = api.get_job(job_id)
    assert (row.attempts, row.max_attempts) == (2, 6)
    before = datetime.now(UTC)
    with pytest.raises(JobProcessingError):
        run_job(runtime, job_id)
    row = api.get_job(job_id)
    assert row.error is not None and row.error.type == "JobProcessingError"
    assert "max_deferrals = 2" in row.error.message and "JOBCTL_MAX_DEFERRALS" in row.error.message
    assert row.status is JobStatus.PENDING and (row.attempts, row.max_attempts) == (3, 6)  # one spent
    assert row.next_attempt_at is not None and (row.next_attempt_at - before).total_seconds() >= 120
    timeline = api.job_attempts(job_id)
    assert [a.outcome for a in timeline] == [O.DEFERRED, O.DEFERRED, O.RETRY_SCHEDULED]
    assert timeline[-1].error is not None and "deferred 2 times already" in timeline[-1].error.message
    counts = {name: sum(by.values()) for name, by in runtime.metrics.counters.items()}
    assert (counts["jobs_deferred"], counts["jobs_retried"], counts["jobs_failed"]) == (2, 1, 0)
    for _ in range(3):  # the rest of the budget: 3 more attempts, then FAILED
        with pytest.raises(JobProcessingError):
            run_job(runtime, job_id)
    row = api.get_job(job_id)
    assert row.status is JobStatus.FAILED and row.attempts == row.max_attempts == 6
