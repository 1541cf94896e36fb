"""Successes recorded in batches by the worker's completer: rows and RQ's keys end as before.

Real Redis and both databases (complete_many is one statement on PostgreSQL, a complete()
per row on SQLite).
"""

from __future__ import annotations

from datetime import UTC, datetime

from rq import Queue
from rq.job import Job
from rq.registry import CanceledJobRegistry, FinishedJobRegistry, StartedJobRegistry

from jobctl.api import JobctlAPI, run_worker
from jobctl.domain.status import JobStatus
from jobctl.queue.rq_job import RESULT_TTL_S, SERIALIZER, JobctlJob
from jobctl.worker.completer import Completer, Finished
from jobctl.worker.lean_scripts import pop_and_start
from jobctl.worker.lean_worker import LeanQueue
from jobctl.worker.runtime import WorkerRuntime
from jobctl.worker.slot import JobctlWorker

Q = "analytics-sync"


def test_a_busy_worker_leaves_rows_and_rq_as_they_were(api: JobctlAPI) -> None:
    ids = [api.enqueue_job("ping", {"sleep_s": 0.02}, queue=Q).id for _ in range(40)]
    assert run_worker(api.settings, [Q], burst=True, concurrency=8) == 0
    rows = [api.get_job(j) for j in ids]
    assert {r.status for r in rows} == {JobStatus.COMPLETED}
    assert all(r.attempts == 1 and r.result and r.result["pong"] for r in rows)
    assert all(r.started_at and r.finished_at and r.finished_at >= r.started_at for r in rows)
    redis = api.backends.redis
    assert sorted(FinishedJobRegistry(Q, connection=redis).get_job_ids()) == sorted(ids)
    assert StartedJobRegistry(Q, connection=redis).get_job_ids() == []
    assert list(redis.scan_iter("rq:execution:*")) == []
    jobs = Job.fetch_many(ids, connection=redis, serializer=SERIALIZER)
    assert {j.get_status() for j in jobs if j} == {"finished"}
    assert all(j.latest_result() is not None for j in jobs if j)
    # The slots' RQ hashes (kept a minute after their death): every job counted, none current.
    hashes = [redis.hgetall(k) for k in redis.scan_iter("rq:worker:*")]
    assert sum(int(h.get(b"successful_job_count", 0)) for h in hashes) == 40
    assert not any(b"current_job" in h for h in hashes)


def _slot(api: JobctlAPI, owner: str) -> tuple[WorkerRuntime, JobctlWorker]:
    """A runtime and one registered slot of it on the lean queue, as the pool builds them."""
    redis = api.backends.redis
    queue = LeanQueue(Q, connection=redis, job_class=JobctlJob, serializer=SERIALIZER)
    worker = JobctlWorker(
        [queue], connection=redis, name=f"{owner}.0", job_class=JobctlJob, serializer=SERIALIZER
    )
    worker.register_birth()
    return WorkerRuntime(api.backends, owner), worker


def _started(api: JobctlAPI, runtime: WorkerRuntime, worker: JobctlWorker) -> tuple[Job, Finished]:
    """One job as a slot leaves it when it hands a success to the completer."""
    job_id = api.enqueue_job("ping", {}, queue=Q).id
    popped = pop_and_start(worker, worker.queues[0], JobctlJob, SERIALIZER)
    assert popped is not None and popped[0].id == job_id
    job = popped[0]
    row = api.backends.repo.claim_row(job_id, runtime.owner, datetime.now(UTC))
    assert row is not None
    job.started_at = job.ended_at = datetime.now(UTC)
    finished = Finished(row, row.attempts, {"pong": True}, datetime.now(UTC), 0.01)
    finished.worker, finished.job, finished.execution = worker, job, worker.execution
    finished.result_ttl = RESULT_TTL_S
    worker.execution = None
    return job, finished


def test_a_late_success_is_filed_as_the_row_says(api: JobctlAPI) -> None:
    runtime, worker = _slot(api, "completer-test")
    redis = api.backends.redis
    done_job, done = _started(api, runtime, worker)
    late_job, late = _started(api, runtime, worker)
    api.cancel_job(late_job.id)  # an operator cancels it while its success waits to be recorded
    completer = Completer(runtime)
    completer.start()
    completer.submit(done)
    completer.submit(late)
    assert completer.flush()
    completer.stop()
    assert api.get_job(done_job.id).status is JobStatus.COMPLETED
    assert api.get_job(done_job.id).result == {"pong": True}
    assert api.get_job(late_job.id).status is JobStatus.CANCELLED  # the fence kept the cancel
    assert done_job.id in FinishedJobRegistry(Q, connection=redis)
    assert late_job.id not in FinishedJobRegistry(Q, connection=redis)
    assert late_job.id in CanceledJobRegistry(Q, connection=redis)
    assert Job.fetch(late_job.id, connection=redis, serializer=SERIALIZER).get_status() == "canceled"
    assert StartedJobRegistry(Q, connection=redis).get_job_ids() == []
    assert worker.connection.hget(worker.key, "current_job") is None  # the slot shows no job
    assert runtime.metrics.totals(Q)["late_finishes_rejected"] == 1


def test_the_slot_keeps_showing_its_next_job(api: JobctlAPI) -> None:
    """A success recorded after its slot took another job leaves that job on the slot."""
    runtime = WorkerRuntime(api.backends, "completer-next")
    redis = api.backends.redis
    queue = Queue(Q, connection=redis, job_class=JobctlJob, serializer=SERIALIZER)
    lean = LeanQueue(Q, connection=redis, job_class=JobctlJob, serializer=SERIALIZER)
    worker = JobctlWorker(
        [lean], connection=redis, name="completer-next.0", job_class=JobctlJob, serializer=SERIALIZER
    )
    worker.register_birth()
    _, first = _started(api, runtime, worker)
    second = api.enqueue_job("ping", {}, queue=Q).id
    assert pop_and_start(worker, queue, JobctlJob, SERIALIZER) is not None  # the slot's next job
    completer = Completer(runtime)
    completer.start()
    completer.submit(first)
    completer.stop()
    assert redis.hget(worker.key, "current_job") == second.encode()
    assert redis.hget(worker.key, "state") == b"busy"


def test_complete_many_fences_each_job_and_ends_its_attempt(api: JobctlAPI) -> None:
    """One statement (PostgreSQL) or transaction (SQLite) for the batch, with complete()'s
    fence per job: the current attempt completes, a stale one is refused, and a value the
    database refuses (NaN) is written alone, failing only its own job."""
    from datetime import timedelta

    repo = api.backends.repo
    ids = [api.enqueue_job("ping", {}, queue=Q).id for _ in range(4)]
    start = datetime.now(UTC)
    rows = [repo.claim_row(j, "w1", start) for j in ids]
    assert all(r is not None and r.attempts == 1 for r in rows)
    end = start + timedelta(milliseconds=250)
    done = repo.complete_many(
        [(ids[0], 1, {"n": 0}, end), (ids[1], 1, None, end), (ids[2], 2, {"stale": True}, end)]
    )
    assert done == {ids[0], ids[1]}
    first, second, third = (api.get_job(j) for j in ids[:3])
    assert first.status == JobStatus.COMPLETED and first.result == {"n": 0}
    assert first.finished_at is not None and abs((first.finished_at - end).total_seconds()) < 0.001
    assert second.status == JobStatus.COMPLETED and second.result is None
    assert third.status == JobStatus.RUNNING and third.result is None  # attempt 2 is not running
    timeline = repo.attempts(ids[0])
    assert [(a.attempt, a.outcome) for a in timeline] == [(1, "completed")]
    assert timeline[0].duration_ms is not None and abs(timeline[0].duration_ms - 250) <= 1
    assert repo.attempts(ids[2])[0].outcome is None  # still open: the fence refused the write
    # Done once: a second write of the same attempt changes nothing.
    assert repo.complete_many([(ids[0], 1, {"n": 1}, end)]) == set()
    assert api.get_job(ids[0]).result == {"n": 0}
    assert repo.complete_many([]) == set()
    # A result PostgreSQL's JSON refuses fails that job's write only, as complete() would.
    # (left RUNNING for the sweep, as a worker killed before recording it would leave it).
    # SQLite's JSON text stores NaN.
    if api.backends.engine.dialect.name != "postgresql":
        return
    batch = [(ids[3], 1, {"x": float("nan")}, end), (ids[2], 1, {"ok": 1}, end)]
    assert repo.complete_many(batch) == {ids[2]}
    assert api.get_job(ids[2]).status == JobStatus.COMPLETED
    assert api.get_job(ids[3]).status == JobStatus.RUNNING


def test_a_redis_that_lost_the_scripts_still_gets_the_successes(api: JobctlAPI) -> None:
    """The completer sends its scripts by hash alone (no SCRIPT EXISTS before each batch); a
    Redis whose script cache was flushed (a restart) answers NOSCRIPT, and the batch is sent
    again with the scripts loaded: RQ's keys end as for any success, counted once."""
    runtime, worker = _slot(api, "completer-noscript")
    redis = api.backends.redis
    jobs, batch = zip(*(_started(api, runtime, worker) for _ in range(3)), strict=True)
    redis.script_flush()
    completer = Completer(runtime)
    completer.start()
    for finished in batch:
        completer.submit(finished)
    completer.stop()
    assert {api.get_job(j.id).status for j in jobs} == {JobStatus.COMPLETED}
    assert sorted(FinishedJobRegistry(Q, connection=redis).get_job_ids()) == sorted(j.id for j in jobs)
    assert StartedJobRegistry(Q, connection=redis).get_job_ids() == []
    assert {
        j.get_status()
        for j in Job.fetch_many([j.id for j in jobs], connection=redis, serializer=SERIALIZER)
        if j
    } == {"finished"}
    assert int(redis.hget(worker.key, "successful_job_count") or 0) == 3
