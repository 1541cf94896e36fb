"""The reconciler on real Redis, SQLite and PostgreSQL: lost jobs come back once, orphans never run."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from rq import Queue
from rq.job import JobStatus as RQJobStatus
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

from jobctl.api import JobctlAPI, run_worker
from jobctl.domain.records import JobError, NewJob
from jobctl.domain.status import JobStatus
from jobctl.domain.timeparse import utcnow
from jobctl.queue.backends import Backends
from jobctl.queue.lease import RedisLease
from jobctl.queue.rq_job import ENTRY_POINT, SERIALIZER, JobctlJob
from jobctl.worker.reconciler import ORPHAN_REASON, reconcile, run_reconciler_once

Q = "context-scraping"


def _rq(api: JobctlAPI, name: str = Q) -> Queue:
    return Queue(name, connection=api.backends.redis, job_class=JobctlJob, serializer=SERIALIZER)


def _queued(api: JobctlAPI, name: str = Q) -> list[str]:
    return [raw.decode() for raw in api.backends.redis.lrange(f"rq:queue:{name}", 0, -1)]


def _scheduled_at(api: JobctlAPI, job_id: str) -> float | None:
    score = api.backends.redis.zscore(f"rq:scheduled:{Q}", job_id)
    return float(score) if score is not None else None


def _ping(job_id: str, scheduled_for: datetime | None = None) -> NewJob:
    return NewJob(
        id=job_id, type="ping", queue=Q, organization_id="acme", payload={}, max_attempts=4,
        scheduled_for=scheduled_for,
    )  # fmt: skip


def _rows_only(api: JobctlAPI, ids: list[str], at: datetime) -> None:
    """What a producer that crashed between its SQL write and its Redis push leaves behind."""
    assert all(api.backends.repo.insert_many([_ping(i) for i in ids], at))


def _statuses(api: JobctlAPI, ids: list[str]) -> set[JobStatus]:
    return {r.status for r in api.backends.repo.get_many(ids).values()}


@pytest.fixture
def events() -> Iterator[list[logging.LogRecord]]:
    """The reconciler's log records, whatever handlers other tests configured."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("jobctl.reconciler")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def test_rows_written_without_their_rq_job_are_enqueued_once_and_run(api: JobctlAPI) -> None:
    ids = [f"lost-{i}" for i in range(5)]
    _rows_only(api, ids, utcnow() - timedelta(minutes=1))
    report = reconcile(api.backends, utcnow())
    assert sorted(report.requeued) == ids and report.orphans_failed == []
    assert report.checked_rows == 5 and report.duration_ms > 0
    assert Counter(_queued(api)) == dict.fromkeys(ids, 1)
    again = reconcile(api.backends, utcnow())  # everything is in place now: nothing to do
    assert again.requeued == [] and again.checked_rows == 5 and again.checked_rq_jobs == 5
    assert Counter(_queued(api)) == dict.fromkeys(ids, 1)
    run_worker(api.settings, [Q], burst=True)
    rows = api.backends.repo.get_many(ids)
    assert {r.status for r in rows.values()} == {JobStatus.COMPLETED}
    assert {r.attempts for r in rows.values()} == {1}


def test_redis_emptied_brings_back_due_delayed_and_retry_waiting_jobs(api: JobctlAPI) -> None:
    repo, now = api.backends.repo, utcnow()
    due = [api.enqueue_job("ping", {}, queue=Q).id for _ in range(2)]
    delayed = api.enqueue_job("ping", {}, queue=Q, delay=timedelta(hours=1))
    waiting = api.enqueue_job("ping", {}, queue=Q).id
    retry_at = now + timedelta(minutes=30)
    # What a worker does when attempt 1 fails: the row waits, RQ holds the job in its scheduled registry.
    assert repo.claim(waiting, "w-1", now) == 1
    assert repo.schedule_retry(waiting, 1, JobError("JobProcessingError", "boom"), retry_at, now)
    api.backends.redis.flushdb()  # Redis restarted without persistence

    report = reconcile(api.backends, utcnow(), min_age_s=0)
    assert sorted(report.requeued) == sorted([*due, delayed.id, waiting])
    assert sorted(_queued(api)) == sorted(due)
    assert delayed.scheduled_for is not None
    assert _scheduled_at(api, delayed.id) == int(delayed.scheduled_for.timestamp())
    assert _scheduled_at(api, waiting) == int(retry_at.timestamp())
    assert reconcile(api.backends, utcnow(), min_age_s=0).requeued == []

    run_worker(api.settings, [Q], burst=True)
    assert _statuses(api, due) == {JobStatus.COMPLETED}
    assert _statuses(api, [delayed.id, waiting]) == {JobStatus.PENDING}  # still waiting for their time
    assert _scheduled_at(api, delayed.id) and _scheduled_at(api, waiting)


def test_rq_jobs_without_a_row_are_failed_and_never_run(
    api: JobctlAPI, events: list[logging.LogRecord]
) -> None:
    redis, rq_q = api.backends.redis, _rq(api)
    rq_q.enqueue(ENTRY_POINT, args=("orphan-queued",), job_id="orphan-queued")
    rq_q.enqueue_in(timedelta(hours=1), ENTRY_POINT, args=("orphan-scheduled",), job_id="orphan-scheduled")
    rq_q.enqueue("os.getcwd", job_id="orphan-not-jobctl")  # someone writing to Redis by hand
    _rq(api, "stray").enqueue(ENTRY_POINT, args=("orphan-stray",), job_id="orphan-stray")
    redis.rpush(rq_q.key, "dangling")  # an id whose job hash is gone
    # Another application's job in its own queue is none of jobctl's business.
    foreign = Queue("other-app", connection=redis, serializer=JSONSerializer)
    foreign.enqueue("os.getcwd", job_id="foreign-1")
    real = api.enqueue_job("ping", {}, queue=Q)

    report = reconcile(api.backends, utcnow(), min_age_s=0)
    failed = ["orphan-not-jobctl", "orphan-queued", "orphan-scheduled", "orphan-stray"]
    assert sorted(report.orphans_failed) == sorted([*failed, "dangling"])
    assert report.requeued == [] and report.checked_rq_jobs >= 6
    logged = [r for r in events if getattr(r, "event", None) == "orphan-rq-job"]
    assert sorted(r.job_id for r in logged) == sorted(report.orphans_failed)  # type: ignore[attr-defined]
    assert _queued(api) == [real.id] and _queued(api, "stray") == []
    assert _queued(api, "other-app") == ["foreign-1"]

    run_worker(api.settings, [Q], burst=True)
    assert api.get_job(real.id).status is JobStatus.COMPLETED
    for job_id in failed:
        job = JobctlJob.fetch(job_id, connection=redis, serializer=SERIALIZER)
        assert job.get_status() == RQJobStatus.FAILED and job.started_at is None  # never ran
        assert job_id in FailedJobRegistry(job.origin, connection=redis)
        result = job.latest_result()
        assert result is not None and result.exc_string == ORPHAN_REASON
    assert not redis.exists("rq:job:dangling")
    assert _scheduled_at(api, "orphan-scheduled") is None
    assert api.backends.repo.get_many(failed) == {}  # the runner was never reached either
    assert reconcile(api.backends, utcnow(), min_age_s=0).orphans_failed == []


def test_jobs_lost_in_flight_or_filed_as_ended_come_back(api: JobctlAPI) -> None:
    """The RQ job exists but nothing will ever run it: popped by a worker that died before (or
    right after) registering it, or filed as failed/finished by RQ while the row says PENDING."""
    lost = ["popped", "dead-worker", "failed-in-rq", "finished-in-rq"]
    for job_id in [*lost, "live-worker"]:
        api.enqueue_job("ping", {}, queue=Q, job_id=job_id)
        api.backends.redis.lrem(f"rq:queue:{Q}", 0, job_id)
    redis, now = api.backends.redis, time.time()
    for job_id, expiry in (("dead-worker", now - 1), ("live-worker", now + 60)):
        redis.zadd(f"rq:executions:{job_id}", {"e1": now + 60})
        redis.zadd(f"rq:wip:{Q}", {f"{job_id}:e1": expiry})  # RQ's started registry
    failed_job = JobctlJob.fetch("failed-in-rq", connection=redis, serializer=SERIALIZER)
    FailedJobRegistry(Q, connection=redis).add(failed_job, ttl=60)
    redis.zadd(f"rq:finished:{Q}", {"finished-in-rq": now + 60})

    report = reconcile(api.backends, utcnow(), min_age_s=0)
    assert sorted(report.requeued) == sorted(lost)  # not the job a live worker holds
    assert Counter(_queued(api)) == dict.fromkeys(lost, 1)
    assert "failed-in-rq" not in FailedJobRegistry(Q, connection=redis)  # listed in one place only
    assert redis.zscore(f"rq:wip:{Q}", "dead-worker:e1") is None
    assert redis.zscore(f"rq:wip:{Q}", "live-worker:e1") is not None
    run_worker(api.settings, [Q], burst=True)
    assert _statuses(api, lost) == {JobStatus.COMPLETED}


def test_young_rows_are_left_alone(api: JobctlAPI) -> None:
    """A producer between its SQL write and its Redis push must not be raced."""
    now = utcnow()
    _rows_only(api, ["young-1", "young-2"], now)
    api.enqueue_job("ping", {}, queue=Q, job_id="young-3")
    api.backends.redis.lrem(f"rq:queue:{Q}", 0, "young-3")  # "popped" just now
    before = {k: api.backends.redis.dump(k) for k in api.backends.redis.scan_iter()}
    report = reconcile(api.backends, now + timedelta(seconds=5), min_age_s=10)
    assert report.requeued == [] and report.checked_rows == 0
    assert {k: api.backends.redis.dump(k) for k in api.backends.redis.scan_iter()} == before
    later = reconcile(api.backends, now + timedelta(seconds=11), min_age_s=10)
    assert sorted(later.requeued) == ["young-1", "young-2", "young-3"]


_CHILD = """
import json, sys, time
from jobctl.domain.timeparse import utcnow
from jobctl.queue.backends import Backends
from jobctl.worker.reconciler import reconcile
from jobctl.settings import load_settings
b = Backends(load_settings())
b.repo, b.redis.ping(), b.producer.queue(sys.argv[2])
time.sleep(max(0.0, float(sys.argv[1]) - time.time()))
print(json.dumps(reconcile(b, utcnow(), min_age_s=0, batch=25).requeued))
"""


def test_concurrent_reconcilers_requeue_each_lost_job_exactly_once(
    api: JobctlAPI, env: dict[str, str]
) -> None:
    redis = api.backends.redis
    crashed = [f"crashed-{i:03}" for i in range(500)]
    _rows_only(api, crashed, utcnow() - timedelta(minutes=1))
    popped = [f"popped-{i:02}" for i in range(60)]
    for job_id in popped:
        api.enqueue_job("ping", {}, queue=Q, job_id=job_id)
        redis.lrem(f"rq:queue:{Q}", 0, job_id)
    lost = crashed + popped

    start_at = time.time() + 2.0  # everyone connected and waiting on the same instant
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(start_at), Q],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results: list[list[str]] = []

    def in_thread() -> None:
        backends = Backends(api.settings)
        try:
            backends.repo, backends.redis.ping()
            time.sleep(max(0.0, start_at - time.time()))
            results.append(reconcile(backends, utcnow(), min_age_s=0, batch=25).requeued)
        finally:
            backends.close()

    threads = [threading.Thread(target=in_thread) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))

    assert len(results) == 7
    everyone = [job_id for r in results for job_id in r]
    assert sorted(everyone) == sorted(lost)  # each lost job re-enqueued by exactly one of them
    assert Counter(_queued(api)) == dict.fromkeys(lost, 1)
    run_worker(api.settings, [Q], burst=True)
    rows = api.backends.repo.get_many(lost)
    assert {r.status for r in rows.values()} == {JobStatus.COMPLETED}
    assert {r.attempts for r in rows.values()} == {1}


def test_run_once_takes_the_lease_and_spaces_passes(api: JobctlAPI) -> None:
    b = api.backends
    lost = [f"lost-{i}" for i in range(5)]
    _rows_only(api, lost, utcnow() - timedelta(minutes=1))
    other = RedisLease(b.redis, "reconciler", "worker-b", ttl_s=10)
    assert other.acquire() is not None
    assert run_reconciler_once(b, "worker-a", utcnow(), interval_s=0) is None  # b holds it
    assert _queued(api) == []
    other.release()
    # A pass pushes at most max_requeue jobs; a pass cut short does not delay the next call.
    done: list[str] = []
    for expected in (2, 2, 1):
        report = run_reconciler_once(b, "worker-a", utcnow(), interval_s=30, min_age_s=0, max_requeue=2)
        assert report is not None and len(report.requeued) == expected
        done += report.requeued
    assert sorted(done) == lost and Counter(_queued(api)) == dict.fromkeys(lost, 1)
    assert other.current_holder() is None  # released after each pass
    assert run_reconciler_once(b, "worker-b", utcnow(), interval_s=30) is None  # a full pass just ran


def test_pass_cost_with_every_row_present(api: JobctlAPI) -> None:
    """Prints the time of a pass over N PENDING rows that are all in Redis (N from
    JOBCTL_RECONCILE_BENCH_ROWS; 100000 is the figure quoted in the docs)."""
    n = int(os.environ.get("JOBCTL_RECONCILE_BENCH_ROWS", "3000"))
    at = utcnow() - timedelta(minutes=1)
    chunk = 10_000
    for start in range(0, n, chunk):
        jobs = [_ping(f"bench-{i:07}") for i in range(start, min(n, start + chunk))]
        api.backends.repo.insert_many(jobs, at)
        api.backends.producer.push(jobs, at)
    report = reconcile(api.backends, utcnow())
    assert report.requeued == [] and report.orphans_failed == []
    assert report.checked_rows == n and report.checked_rq_jobs == n
    dialect = api.backends.engine.dialect.name
    print(f"\nreconcile pass, {n} PENDING rows all present, {dialect}: {report.duration_ms:.0f} ms")
