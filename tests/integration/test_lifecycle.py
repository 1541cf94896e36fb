"""The job lifecycle through the Python API and an in-process burst worker, on real backends."""

from __future__ import annotations

import time
from typing import Any

import pytest
from rq import Queue
from rq.registry import CanceledJobRegistry, FailedJobRegistry, FinishedJobRegistry

from jobctl.api import EnqueueRequest, JobctlAPI, run_worker
from jobctl.domain.errors import (
    InvalidTransitionError,
    JobNotFoundError,
    PayloadValidationError,
    ProcessorNotAvailableError,
    UnknownJobTypeError,
)
from jobctl.domain.records import JobFilter
from jobctl.domain.status import JobStatus
from jobctl.queue.rq_job import SERIALIZER, JobctlJob

Q = "context-scraping"


def _rq(api: JobctlAPI) -> Queue:
    return Queue(Q, connection=api.backends.redis, job_class=JobctlJob, serializer=SERIALIZER)


def _drain(api: JobctlAPI, until: float = 15.0, want: tuple[str, ...] = ()) -> None:
    """Run burst workers until the named jobs are final (retries become due in between)."""
    deadline = time.monotonic() + until
    while True:
        run_worker(api.settings, [Q], burst=True)
        if all(api.get_job(j).status.is_final for j in want) or time.monotonic() > deadline:
            return
        time.sleep(0.2)


def test_enqueue_run_complete(api: JobctlAPI) -> None:
    job = api.enqueue_job("ping", {"sleep_s": 0.01}, queue=Q, organization_id="acme")
    assert job.status is JobStatus.PENDING
    stored = api.get_job(job.id)
    assert stored.status is JobStatus.PENDING and stored.organization_id == "acme"
    assert _rq(api).job_ids == [job.id]  # the RQ job has the row's id
    _drain(api, want=(job.id,))
    done = api.get_job(job.id)
    assert done.status is JobStatus.COMPLETED
    assert done.result["pong"] is True and done.attempts == 1
    assert done.started_at and done.finished_at and done.finished_at >= done.started_at
    assert done.worker
    assert job.id in FinishedJobRegistry(Q, connection=api.backends.redis)


def test_retries_then_success(api: JobctlAPI) -> None:
    job = api.enqueue_job("ping", {"fail_attempts": 2}, queue=Q)
    run_worker(api.settings, [Q], burst=True)
    after_first = api.get_job(job.id)
    assert after_first.status is JobStatus.PENDING and after_first.attempts == 1
    assert after_first.next_attempt_at is not None and after_first.error is not None
    assert job.id in _rq(api).scheduled_job_registry  # RQ waits exactly as the row says
    _drain(api, want=(job.id,))
    done = api.get_job(job.id)
    assert done.status is JobStatus.COMPLETED and done.attempts == 3
    assert done.error is None


def test_retries_exhausted_fail_with_error(api: JobctlAPI) -> None:
    job = api.enqueue_job("ping", {"fail_attempts": 10}, queue=Q)
    _drain(api, until=20, want=(job.id,))
    failed = api.get_job(job.id)
    assert failed.status is JobStatus.FAILED
    assert failed.attempts == failed.max_attempts == 4
    assert failed.error is not None and failed.error.type == "JobProcessingError"
    assert "attempt 4" in failed.error.message and "Traceback" in (failed.error.traceback or "")
    assert job.id in FailedJobRegistry(Q, connection=api.backends.redis)


def test_payload_error_at_run_time_is_not_retried(api: JobctlAPI) -> None:
    job = api.enqueue_job("ping", {}, queue=Q)
    # Someone edits the row's payload behind jobctl's back: the worker must refuse it cleanly.
    from sqlalchemy import text

    with api.backends.engine.begin() as conn:
        conn.execute(
            text("UPDATE jobs SET payload = :p WHERE id = :i"), {"p": '{"sleep_s": "long"}', "i": job.id}
        )
    run_worker(api.settings, [Q], burst=True)
    row = api.get_job(job.id)
    assert row.status is JobStatus.FAILED and row.attempts == 1
    assert row.error is not None and row.error.type == "PayloadValidationError"
    assert "sleep_s" in row.error.message


def test_idempotent_enqueue(api: JobctlAPI) -> None:
    a = api.enqueue_job("ping", {}, queue=Q, job_id="same-id-1")
    b = api.enqueue_job("ping", {"sleep_s": 5}, queue=Q, job_id="same-id-1")
    assert a.id == b.id == "same-id-1"
    assert b.payload == a.payload  # the first write wins; the second is a no-op
    assert _rq(api).job_ids == ["same-id-1"]
    assert len(api.list_jobs(JobFilter(limit=10))) == 1


def test_enqueue_many_is_one_batch(api: JobctlAPI) -> None:
    reqs = [EnqueueRequest("ping", {}, queue=Q, job_id=f"batch-{i}") for i in range(50)]
    rows = api.enqueue_many(reqs)
    assert [r.id for r in rows] == [f"batch-{i}" for i in range(50)]
    assert len(_rq(api).job_ids) == 50
    # a bad request anywhere in the batch writes nothing at all
    bad = [
        EnqueueRequest("ping", {}, queue=Q, job_id="batch-new"),
        EnqueueRequest("ping", {"sleep_s": -1}, queue=Q),
    ]
    with pytest.raises(PayloadValidationError):
        api.enqueue_many(bad)
    with pytest.raises(JobNotFoundError):
        api.get_job("batch-new")


def test_delayed_job_is_scheduled(api: JobctlAPI) -> None:
    from datetime import timedelta

    job = api.enqueue_job("ping", {}, queue=Q, delay=timedelta(seconds=1))
    assert job.id in _rq(api).scheduled_job_registry and _rq(api).count == 0
    run_worker(api.settings, [Q], burst=True)
    assert api.get_job(job.id).status is JobStatus.PENDING  # not due yet
    time.sleep(1.2)
    _drain(api, want=(job.id,))
    assert api.get_job(job.id).status is JobStatus.COMPLETED


def test_cancel_pending_and_retry(api: JobctlAPI) -> None:
    job = api.enqueue_job("ping", {}, queue=Q)
    cancelled = api.cancel_job(job.id)
    assert cancelled.status is JobStatus.CANCELLED
    assert _rq(api).count == 0 and job.id in CanceledJobRegistry(Q, connection=api.backends.redis)
    with pytest.raises(InvalidTransitionError):
        api.cancel_job(job.id)
    run_worker(api.settings, [Q], burst=True)
    assert api.get_job(job.id).status is JobStatus.CANCELLED  # never ran
    retried = api.retry_job(job.id)
    assert retried.status is JobStatus.PENDING and retried.max_attempts == 4
    _drain(api, want=(job.id,))
    assert api.get_job(job.id).status is JobStatus.COMPLETED
    with pytest.raises(InvalidTransitionError):
        api.retry_job(job.id)


def test_retry_failed_job_gets_a_fresh_budget(api: JobctlAPI) -> None:
    job = api.enqueue_job("ping", {"fail_attempts": 4}, queue=Q)
    _drain(api, until=20, want=(job.id,))
    assert api.get_job(job.id).status is JobStatus.FAILED
    again = api.retry_job(job.id)
    assert again.status is JobStatus.PENDING and again.max_attempts == 8 and again.error is None
    assert job.id not in FailedJobRegistry(Q, connection=api.backends.redis)
    _drain(api, want=(job.id,))
    done = api.get_job(job.id)
    assert done.status is JobStatus.COMPLETED and done.attempts == 5


def test_unknown_and_unavailable_types(api: JobctlAPI) -> None:
    with pytest.raises(UnknownJobTypeError, match="unknown job type"):
        api.enqueue_job("make-coffee", {})
    from jobctl.domain.job_types import BUILTIN_JOB_TYPES
    from jobctl.processors.registry import Registry

    bare = JobctlAPI(api.settings, registry=Registry(dict(BUILTIN_JOB_TYPES), {}, {}))  # nothing installed
    with pytest.raises(ProcessorNotAvailableError, match="no processor"):
        bare.enqueue_job("refresh-token", {"social_account_id": "sa1"}, organization_id="acme")
    bare.close()
    assert api.list_jobs(JobFilter()) == []  # nothing written


def test_list_filters(api: JobctlAPI) -> None:
    ids: list[Any] = [api.enqueue_job("ping", {}, queue=Q, organization_id=o).id for o in ("a", "b", "a")]
    api.cancel_job(ids[0])
    assert {r.id for r in api.list_jobs(JobFilter(organization_id="a"))} == {ids[0], ids[2]}
    assert [r.id for r in api.list_jobs(JobFilter(statuses=(JobStatus.CANCELLED,)))] == [ids[0]]
    newest_first = [r.id for r in api.list_jobs(JobFilter())]
    assert newest_first == list(reversed(ids))
