"""The worker side of `jobctl queues pause` on real Redis: a slot's dequeue leaves paused
queues out, and a blocking pop that waited through a pause gives its job back untouched."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from redis import Redis
from rq.exceptions import DequeueTimeout

from jobctl.domain.records import NewJob
from jobctl.queue.pause import PauseGate, pause, paused_queues, resume
from jobctl.queue.producer import Producer
from jobctl.queue.rq_job import SERIALIZER, JobctlJob
from jobctl.worker import lean_worker
from jobctl.worker.lean_worker import LeanQueue

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
A, B = "context-scraping", "analytics-sync"


@pytest.fixture
def redis(redis_url: str) -> Iterator[Redis]:
    conn = Redis.from_url(redis_url)
    yield conn
    conn.close()


def _push(redis: Redis, job_id: str, queue: str) -> None:
    job = NewJob(id=job_id, type="ping", queue=queue, organization_id=None, payload={}, max_attempts=4)
    Producer(redis).push([job], NOW)


def _dequeue(redis: Redis, queues: list[str], timeout: float | None) -> Any:
    """LeanQueue.dequeue_any as a slot calls it (this thread's slot has a pause gate; its
    connection differs, so the pop is RQ's plain one, not the start script)."""
    lean_worker._dequeuing.worker = SimpleNamespace(pause_gate=PauseGate(redis, refresh_s=0), connection=None)
    try:
        qs = [LeanQueue(q, connection=redis, job_class=JobctlJob, serializer=SERIALIZER) for q in queues]
        return LeanQueue.dequeue_any(qs, timeout, redis, JobctlJob, SERIALIZER)  # type: ignore[arg-type]
    finally:
        lean_worker._dequeuing.worker = None


def test_paused_queue_is_left_out_and_state_records_who(redis: Redis) -> None:
    _push(redis, "job-a", A)
    _push(redis, "job-b", B)
    info, created = pause(redis, A, NOW)
    assert created and info.by and info.at == NOW
    assert not pause(redis, A, datetime.now(UTC))[1]  # twice: the first pause's who and when stay
    assert paused_queues(redis)[A].at == NOW
    job, queue = _dequeue(redis, [A, B], timeout=None)  # A first in order, but paused
    assert (job.id, queue.name) == ("job-b", B)
    assert _dequeue(redis, [A], timeout=None) is None  # burst: nothing to take
    with pytest.raises(DequeueTimeout):
        _dequeue(redis, [A], timeout=1)  # a slot waits (~0.25 s) and looks again
    assert redis.lrange(f"rq:queue:{A}", 0, -1) == [b"job-a"]
    assert resume(redis, A) is not None and resume(redis, A) is None
    job, queue = _dequeue(redis, [A], timeout=1)
    assert (job.id, queue.name) == ("job-a", A)


@pytest.mark.parametrize("queues", [[A], [A, B]], ids=["blmove", "blpop"])
def test_blocking_pop_through_a_pause_gives_the_job_back(
    redis: Redis, queues: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome: dict[str, Any] = {}
    given: list[str] = []
    real = lean_worker.give_back

    def spy(connection: Any, queue_key: str, intermediate_key: str | None, job_id: str) -> None:
        given.append(job_id)
        real(connection, queue_key, intermediate_key, job_id)

    monkeypatch.setattr(lean_worker, "give_back", spy)

    def slot() -> None:
        try:
            outcome["popped"] = _dequeue(redis, queues, timeout=3)
        except DequeueTimeout:
            outcome["timeout"] = True

    t = threading.Thread(target=slot)
    t.start()
    time.sleep(0.5)  # the slot is blocked on its (empty, unpaused) queues
    pause(redis, A, NOW)
    _push(redis, "late", A)  # arrives during the block
    t.join(timeout=10)
    assert outcome == {"timeout": True} and given == ["late"]  # popped, then given back
    assert redis.lrange(f"rq:queue:{A}", 0, -1) == [b"late"]  # back at the head, untouched
    assert redis.llen(f"rq:queue:{A}:intermediate") == 0


def test_rq_suspend_is_seen_by_every_slot_through_one_shared_look(redis: Redis) -> None:
    """`rq suspend` still stops the slots (a burst slot exits, as RQ's own check makes it),
    while the process looks at the flag once per interval for all of them."""
    from rq.exceptions import StopRequested
    from rq.suspension import resume as rq_resume
    from rq.suspension import suspend as rq_suspend

    from jobctl.worker.lean_worker import LeanSimpleWorker, SuspensionView

    view = SuspensionView(every_s=0.2)
    slots = []
    for i in range(3):
        slot = LeanSimpleWorker([LeanQueue(B, connection=redis)], connection=redis, name=f"suspend-test.{i}")
        slot.suspension = view
        slots.append(slot)
    for slot in slots:
        slot.check_for_suspension(burst=True)  # not suspended: returns
    rq_suspend(redis)
    try:
        assert not view.suspended(redis)  # within the interval: the look already made stands
        time.sleep(0.25)
        for slot in slots:
            with pytest.raises(StopRequested):
                slot.check_for_suspension(burst=True)
    finally:
        rq_resume(redis)
    time.sleep(0.25)
    for slot in slots:
        slot.check_for_suspension(burst=True)
