"""Recovery of lost executions on real backends: the first loss re-runs at once, later ones wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue

from jobctl.api import JobctlAPI
from jobctl.domain.status import JobStatus
from jobctl.queue.rq_job import SERIALIZER, JobctlJob
from jobctl.worker.recovery import losses_key, sweep

Q = "context-scraping"


@pytest.fixture
def slow_retries(env: dict[str, str]) -> dict[str, str]:
    env["JOBCTL_RETRY_INTERVALS"] = "60,300,900"  # a re-run within seconds cannot be a retry wait
    return env


def _lose(api: JobctlAPI, job_id: str, now: datetime) -> None:
    """Claim the job for a worker that has no heartbeat (dead), then sweep."""
    assert api.backends.repo.claim_row(job_id, "ghost", now) is not None
    report = sweep(api.backends, datetime.now(UTC))
    assert job_id in report.recovered


def test_first_loss_reruns_at_once_then_losses_wait_then_fail(
    slow_retries: dict[str, str], api: JobctlAPI
) -> None:
    job = api.enqueue_job("ping", {}, queue=Q)
    queue = Queue(Q, connection=api.backends.redis, job_class=JobctlJob, serializer=SERIALIZER)
    now = datetime.now(UTC)
    _lose(api, job.id, now)
    row = api.get_job(job.id)
    assert row.status is JobStatus.PENDING and row.attempts == 1
    assert row.next_attempt_at is not None and row.next_attempt_at <= datetime.now(UTC)
    assert queue.job_ids == [job.id]  # queued now, not in the scheduled registry
    assert row.error is not None and row.error.type == "JobStalledError"

    _lose(api, job.id, now)  # the second loss of the same job: the first retry wait (60 s)
    row = api.get_job(job.id)
    assert row.status is JobStatus.PENDING and row.attempts == 2
    assert row.next_attempt_at is not None and row.next_attempt_at >= now + timedelta(seconds=60)
    assert job.id in queue.scheduled_job_registry and queue.job_ids == []

    for _ in range(2):
        _lose(api, job.id, now)
    row = api.get_job(job.id)
    assert row.status is JobStatus.FAILED and row.attempts == 4  # every loss cost an attempt
    assert int(api.backends.redis.get(losses_key(job.id)) or 0) == 4
