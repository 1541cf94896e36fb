"""The Lua start and success scripts leave Redis exactly as RQ's own code does.

Each test runs one job through RQ's SimpleWorker methods, snapshots every key (type, fields,
members, scores and TTLs, with ids and clock readings replaced by placeholders), flushes,
runs the same job through jobctl.worker.lean_scripts, and compares. A change in RQ's keys or
fields (a new RQ release) fails here instead of confusing `rq info` or rq-dashboard.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from rq import SimpleWorker
from rq.job import JobStatus
from rq.queue import Queue
from rq.utils import now
from rq.worker import BaseWorker

from jobctl.queue.rq_job import ENTRY_POINT, NO_TIMEOUT, RESULT_TTL_S, SERIALIZER, JobctlJob
from jobctl.worker.lean_scripts import pop_and_start, succeed
from jobctl.worker.lean_worker import LeanQueue, LeanSimpleWorker

QUEUE = "lean-test"
WORKER = "lean-worker"
JOB_ID = "0123456789abcdef0123456789abcdef"

_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z")
_EPOCH = re.compile(r"^\d{10}(\.\d+)?$")
_FLOAT = re.compile(r"^\d+\.\d+(e-?\d+)?$")
_HEX = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def conn(redis_url: str) -> Iterator[redis.Redis]:
    c = redis.Redis.from_url(redis_url)
    yield c
    c.close()


def _norm(value: Any, job_id: str) -> str:
    text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
    text = text.replace(job_id, "<job>")
    text = _HEX.sub("<hex>", text)
    text = _ISO.sub("<time>", text)
    if _EPOCH.match(text):
        return "<epoch>" if abs(float(text) - time.time()) < 3600 * 24 * 400 else text
    if _FLOAT.match(text):
        return "<float>"
    return text


def _score(score: float) -> str:
    if score == float("inf"):
        return "+inf"
    return f"now{round(score - time.time()):+d}"  # relative to the clock: ±1 s of jitter allowed below


def snapshot(conn: redis.Redis, job_id: str) -> dict[str, Any]:
    """Every key, normalised: what a dashboard reading this Redis would see."""
    out: dict[str, Any] = {}
    for raw in conn.keys("*"):
        key = _norm(raw, job_id)
        kind = conn.type(raw).decode()
        ttl = conn.ttl(raw)
        if kind == "hash":
            body: Any = {_norm(k, job_id): _norm(v, job_id) for k, v in conn.hgetall(raw).items()}
            if "data" in body:
                body["data"] = "<data>"  # compressed bytes: compared as restored jobs below
        elif kind == "zset":
            body = {_norm(m, job_id): _score(s) for m, s in conn.zrange(raw, 0, -1, withscores=True)}
        elif kind == "list":
            body = [_norm(v, job_id) for v in conn.lrange(raw, 0, -1)]
        elif kind == "set":
            body = sorted(_norm(v, job_id) for v in conn.smembers(raw))
        elif kind == "stream":
            body = [
                {_norm(k, job_id): _norm(v, job_id) for k, v in fields.items()}
                for _, fields in conn.xrange(raw)
            ]
        else:
            body = _norm(conn.get(raw), job_id)
        out[key] = (kind, body, ttl)
    return out


def _assert_same(rq_state: dict[str, Any], lean_state: dict[str, Any]) -> None:
    assert sorted(rq_state) == sorted(lean_state)
    for key, (kind, body, ttl) in rq_state.items():
        lean_kind, lean_body, lean_ttl = lean_state[key]
        assert (key, kind) == (key, lean_kind)
        assert abs(ttl - lean_ttl) <= 1, key
        if kind == "zset":
            assert sorted(body) == sorted(lean_body), key
            for member, score in body.items():
                if score != "+inf":
                    assert abs(int(score[3:]) - int(lean_body[member][3:])) <= 1, (key, member)
        else:
            assert body == lean_body, key


def _setup(conn: redis.Redis) -> tuple[Queue, LeanSimpleWorker]:
    conn.flushdb()
    queue = LeanQueue(QUEUE, connection=conn, job_class=JobctlJob, serializer=SERIALIZER)
    queue.enqueue_call(
        ENTRY_POINT, args=(JOB_ID,), job_id=JOB_ID, timeout=NO_TIMEOUT, result_ttl=RESULT_TTL_S,
        failure_ttl=3600,
    )  # fmt: skip
    worker = LeanSimpleWorker(
        [queue], connection=conn, name=WORKER, job_class=JobctlJob, serializer=SERIALIZER
    )
    worker.register_birth()
    return queue, worker


def _rq_start(conn: redis.Redis) -> tuple[Any, Queue, LeanSimpleWorker]:
    queue, worker = _setup(conn)
    popped = Queue.dequeue_any([queue], None, connection=conn, job_class=JobctlJob, serializer=SERIALIZER)
    assert popped is not None
    job = popped[0]
    SimpleWorker.prepare_execution(worker, job)
    BaseWorker.prepare_job_execution(worker, job, remove_from_intermediate_queue=True)
    conn.persist(job.key)  # Job.perform's own PERSIST
    return job, queue, worker


def _lean_start(conn: redis.Redis) -> tuple[Any, Queue, LeanSimpleWorker]:
    queue, worker = _setup(conn)
    popped = pop_and_start(worker, queue, JobctlJob, SERIALIZER)
    assert popped is not None
    return popped[0], queue, worker


def _finish(job: Any) -> None:
    """What perform_job and handle_execution_ended do between the start and the success."""
    job.started_at = now()
    job.ended_at = job.started_at + timedelta(seconds=0.25)
    job.last_heartbeat = job.ended_at
    job._result = None
    job._status = JobStatus.FINISHED


def test_the_start_script_writes_what_rq_writes(conn: redis.Redis) -> None:
    job, _, worker = _rq_start(conn)
    rq_state, rq_job = snapshot(conn, job.id), JobctlJob.fetch(JOB_ID, connection=conn, serializer=SERIALIZER)
    job, _, lean = _lean_start(conn)
    _assert_same(rq_state, snapshot(conn, job.id))
    lean_job = JobctlJob.fetch(JOB_ID, connection=conn, serializer=SERIALIZER)
    assert (lean_job.args, lean_job.func_name, lean_job.get_status()) == (
        rq_job.args,
        rq_job.func_name,
        "started",
    )
    # The in-process state RQ's calls leave, which the rest of perform_job reads.
    assert lean.execution is not None and lean.execution.job_id == JOB_ID
    assert worker.get_state() == lean.get_state() == "busy"
    assert job.worker_name == WORKER and job.started_at is not None


def test_the_success_script_writes_what_rq_writes(conn: redis.Redis) -> None:
    job, queue, worker = _rq_start(conn)
    _finish(job)
    BaseWorker.handle_job_success(worker, job, queue, queue.started_job_registry)
    BaseWorker.set_state(worker, "idle")  # SimpleWorker.execute_job, once perform_job returns
    rq_state = snapshot(conn, job.id)
    job, queue, lean = _lean_start(conn)
    _finish(job)
    assert succeed(lean, job, RESULT_TTL_S, lean.execution)
    lean.execution = None
    lean._state = "idle"
    lean_state = snapshot(conn, job.id)
    _assert_same(rq_state, lean_state)
    assert lean_state["rq:job:<job>"][1]["status"] == "finished"
    assert lean.execution is None and lean.get_state() == "idle"


def test_an_empty_queue_and_a_lost_job_hash(conn: redis.Redis) -> None:
    queue, worker = _setup(conn)
    conn.delete(f"rq:job:{JOB_ID}")  # the id is queued but its hash is gone
    assert pop_and_start(worker, queue, JobctlJob, SERIALIZER) is None
    # RQ leaves such an id in the intermediate list (the recovery sweep looks there).
    assert conn.lrange(queue.intermediate_queue_key, 0, -1) == [JOB_ID.encode()]
    assert conn.hget(worker.key, "current_job") is None
