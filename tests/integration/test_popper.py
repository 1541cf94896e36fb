"""The slots' pops and claims batched (jobctl.worker.popper): each slot gets its own job,
started for it in Redis as a pop alone starts it, with its SQL row claimed; fewer round trips
and statements. Real Redis, both databases, real threads."""

from __future__ import annotations

import threading
from typing import Any

from rq.job import Job
from rq.registry import StartedJobRegistry

from jobctl.api import JobctlAPI, run_worker
from jobctl.domain.status import JobStatus
from jobctl.queue.rq_job import SERIALIZER, JobctlJob
from jobctl.worker.claimer import Claimer
from jobctl.worker.lean_worker import LeanQueue
from jobctl.worker.popper import Claimed, Popper, take_claim
from jobctl.worker.slot import JobctlWorker

Q = "analytics-sync"


def _slots(api: JobctlAPI, n: int, name: str) -> list[JobctlWorker]:
    redis = api.backends.redis
    slots = []
    for i in range(n):
        queue = LeanQueue(Q, connection=redis, job_class=JobctlJob, serializer=SERIALIZER)
        slot = JobctlWorker(
            [queue], connection=redis, name=f"{name}.{i}", job_class=JobctlJob, serializer=SERIALIZER
        )
        slot.register_birth()
        slots.append(slot)
    return slots


def _pop_all(popper: Popper, slots: list[JobctlWorker]) -> dict[str, Any]:
    """Every slot pops once, all at the same moment (a barrier), each in its own thread."""
    got: dict[str, Any] = {}
    barrier = threading.Barrier(len(slots))

    def pop(slot: JobctlWorker) -> None:
        barrier.wait()
        got[slot.name] = popper.pop(slot, slot.queues[0], JobctlJob, SERIALIZER)

    threads = [threading.Thread(target=pop, args=(s,)) for s in slots]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return got


def test_slots_popping_together_get_their_own_started_and_claimed_jobs(api: JobctlAPI) -> None:
    ids = [api.enqueue_job("ping", {}, queue=Q).id for _ in range(30)]
    slots = _slots(api, 30, "popper")
    popper = Popper(api.backends.redis, Claimer(api.backends.repo, "popper"))
    got = _pop_all(popper, slots)
    assert popper.batches < 30  # shared
    jobs = {name: popped[0] for name, popped in got.items()}
    assert sorted(j.id for j in jobs.values()) == sorted(ids)  # each job once
    redis = api.backends.redis
    started = set(StartedJobRegistry(Q, connection=redis).get_job_ids())
    for slot in slots:
        job = jobs[slot.name]
        # Started for this slot, as pop_and_start leaves it.
        assert job.worker_name == slot.name and job.get_status(refresh=False) == "started"
        assert slot.execution is not None and slot.execution.job_id == job.id
        assert redis.hget(slot.key, "current_job") == job.id.encode()
        assert Job.fetch(job.id, connection=redis, serializer=SERIALIZER).get_status() == "started"
        assert job.id in started
        # Claimed: the row RUNNING at attempt 1, the claim taken once by the runner.
        claimed = take_claim(job, job.id)
        assert isinstance(claimed, Claimed) and claimed.row is not None
        assert claimed.row.status == JobStatus.RUNNING and claimed.row.attempts == 1
        assert take_claim(job, job.id) is None
        assert api.get_job(job.id).status == JobStatus.RUNNING
    assert popper.pop(slots[0], slots[0].queues[0], JobctlJob, SERIALIZER) is None  # empty


def test_a_lost_hash_a_foreign_job_and_lost_scripts(api: JobctlAPI) -> None:
    """An id whose job hash is gone is skipped (left in the intermediate list, as RQ does), a
    job that is not jobctl's is popped unclaimed (the slot refuses it as before), and a Redis
    that lost the scripts (restart, SCRIPT FLUSH) gets them again."""
    redis = api.backends.redis
    slots = _slots(api, 2, "popper-odd")
    queue = slots[0].queues[0]
    lost = api.enqueue_job("ping", {}, queue=Q).id
    redis.delete(f"rq:job:{lost}")
    foreign = queue.enqueue_call("os.getcwd", job_id="foreign-job")
    kept = api.enqueue_job("ping", {}, queue=Q).id
    redis.script_flush()
    popper = Popper(redis, Claimer(api.backends.repo, "popper-odd"))
    first = popper.pop(slots[0], queue, JobctlJob, SERIALIZER)
    assert first is not None and first[0].id == foreign.id
    assert take_claim(first[0], foreign.id) is None
    second = popper.pop(slots[1], queue, JobctlJob, SERIALIZER)
    assert second is not None and second[0].id == kept
    claimed = take_claim(second[0], kept)
    assert claimed is not None and claimed.row is not None and claimed.row.attempts == 1
    assert redis.lrange(queue.intermediate_queue_key, 0, -1) == [lost.encode()]
    assert api.get_job(lost).status == JobStatus.PENDING  # never claimed


def test_a_claim_that_fails_fails_only_when_the_job_runs(api: JobctlAPI) -> None:
    """The database refusing the batch's claim: each slot still gets its job (started in
    Redis, as a pop alone leaves it), and the runner raises the claim's error for it."""

    class Down(Claimer):
        def claim_now(self, claims: Any) -> Any:
            raise ConnectionError("database down")

    job_id = api.enqueue_job("ping", {}, queue=Q).id
    slot = _slots(api, 1, "popper-down")[0]
    popped = Popper(api.backends.redis, Down(api.backends.repo, "popper-down")).pop(
        slot, slot.queues[0], JobctlJob, SERIALIZER
    )
    assert popped is not None
    claimed = take_claim(popped[0], job_id)
    assert claimed is not None and isinstance(claimed.error, ConnectionError)
    assert api.get_job(job_id).status == JobStatus.PENDING


def test_a_pool_claims_through_its_pops(api: JobctlAPI) -> None:
    """End to end: every job of a 6-slot burst ran once, at attempt 1, with one attempt on
    record (a claim taken twice would have made a second)."""
    ids = [api.enqueue_job("ping", {"sleep_s": 0.01}, queue=Q).id for _ in range(24)]
    assert run_worker(api.settings, [Q], burst=True, concurrency=6) == 0
    rows = [api.get_job(j) for j in ids]
    assert {r.status for r in rows} == {JobStatus.COMPLETED}
    assert all(r.attempts == 1 for r in rows)
    assert all([a.attempt for a in api.backends.repo.attempts(j)] == [1] for j in ids)
