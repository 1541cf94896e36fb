"""The producer packs its pipeline with hiredis directly (Producer.pack_resp): the bytes are
exactly redis-py's for every command an enqueue sends (plain, delayed, with an organisation,
odd payload values), the jobs land in RQ as RQ's own enqueue leaves them, and what hiredis
alone cannot take goes through redis-py (its DataError included)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis
from redis.exceptions import DataError
from rq import Queue

from jobctl.domain.records import NewJob
from jobctl.queue.producer import SEND_CHUNK, Producer, pack_resp
from jobctl.queue.rq_job import SERIALIZER, JobctlJob

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
Q = "analytics-sync"


def jobs(n: int) -> list[NewJob]:
    payloads = [{}, {"url": "https://example.com/é?q=1 2"}, {"ratio": 0.1, "n": 2**40, "ok": True}]
    delayed = NOW + timedelta(minutes=5)
    return [
        NewJob(
            f"job{i:06d}",
            "ping",
            Q,
            "acme" if i % 2 else None,
            payloads[i % 3],
            1 + i % 5,
            scheduled_for=delayed if i % 4 == 0 else None,
        )
        for i in range(n)
    ]


def test_the_bytes_are_redis_pys_for_every_command_of_an_enqueue(redis_conn: redis.Redis) -> None:
    commands = Producer(redis_conn).commands(jobs(2_000), NOW)
    pooled = redis_conn.connection_pool.get_connection()
    try:
        ours = pack_resp(pooled, commands)
        assert b"".join(ours) == b"".join(pooled.pack_commands(commands))
        assert len(ours) > 1 and all(len(c) < SEND_CHUNK + 4096 for c in ours)  # sent in chunks
        assert {c[0] for c in commands} >= {"MULTI", "HSET", "RPUSH", "XADD", "EXEC"}
    finally:
        redis_conn.connection_pool.release(pooled)


def test_what_hiredis_alone_cannot_take_goes_through_redis_py(redis_conn: redis.Redis) -> None:
    pooled = redis_conn.connection_pool.get_connection()
    try:
        spaced = [("CLIENT LIST",), ("SET", "k", memoryview(b"v"))]
        assert b"".join(pack_resp(pooled, spaced)) == b"".join(pooled.pack_commands(spaced))
        with pytest.raises(DataError):
            pack_resp(pooled, [("SET", "k", None)])
        with pytest.raises(DataError):
            pack_resp(pooled, [("SET", "k", True)])
    finally:
        redis_conn.connection_pool.release(pooled)


def test_pushed_jobs_are_in_rq_as_rq_leaves_them(redis_conn: redis.Redis) -> None:
    batch = jobs(40)  # the first one delayed, then immediate ones: RQ's enqueue_job once refused
    producer = Producer(redis_conn)
    queue = Queue(Q, connection=redis_conn, job_class=JobctlJob)
    with producer.stage(batch, NOW) as staged:
        staged.build()
        # Nothing sent while building (RQ's own schedule_job sends its ZADD at once).
        assert redis_conn.zcard(queue.scheduled_job_registry.key) == 0 and redis_conn.dbsize() == 0
        staged.send(batch)
    now_ids = [j.id for j in batch if j.scheduled_for is None]
    assert queue.job_ids == now_ids
    assert sorted(queue.scheduled_job_registry.get_job_ids()) == sorted(
        j.id for j in batch if j.scheduled_for is not None
    )
    job = JobctlJob.fetch(now_ids[0], connection=redis_conn, serializer=SERIALIZER)
    assert list(job.args) == [now_ids[0]] and job.meta["jobctl_type"] == "ping"
    delayed = JobctlJob.fetch(batch[0].id, connection=redis_conn, serializer=SERIALIZER)
    assert delayed.get_status() == "scheduled"
    score = redis_conn.zscore(queue.scheduled_job_registry.key, batch[0].id)
    assert score == (NOW + timedelta(minutes=5)).timestamp()  # what RQ's scheduler reads


def test_a_retry_pushed_for_later_is_scheduled_in_the_transaction(redis_conn: redis.Redis) -> None:
    later = NewJob("retry01", "ping", Q, None, {}, 3, scheduled_for=NOW + timedelta(seconds=60))
    Producer(redis_conn).push([later], NOW)
    queue = Queue(Q, connection=redis_conn, job_class=JobctlJob)
    assert queue.scheduled_job_registry.get_job_ids() == ["retry01"] and queue.job_ids == []
