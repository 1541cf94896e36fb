"""Retention on both databases and the real Redis: the sweep deletes old finished jobs (with
their attempt rows and Redis keys), old firings and audit rows, in bounded batches, under a
lease; it never touches PENDING/RUNNING or recent rows; a dry run changes nothing; a table
that does not exist is skipped; doctor reports the sizes; the scheduler's loop runs it."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import redis
from sqlalchemy import event, func, insert, select, update

from jobctl.api.retention import PRUNE, open_sweep, prune
from jobctl.domain.audit import Actor, NewAuditEntry
from jobctl.domain.records import JobError
from jobctl.domain.retention import RULES, RetentionRule
from jobctl.domain.status import JobStatus
from jobctl.domain.timeparse import utcnow
from jobctl.queue.lease import RedisLease
from jobctl.queue.progress import logs_key, progress_key
from jobctl.queue.rq_job import JobctlJob
from jobctl.scheduler.retention import LAST_SWEEP_KEY, LEASE_NAME, RetentionLoop, SweepBusyError
from jobctl.store.analytics_tables import POST_ANALYTICS
from jobctl.store.attempt_tables import JOB_ATTEMPTS
from jobctl.store.audit_repo import AuditRepository
from jobctl.store.schedule_tables import FIRINGS
from jobctl.store.tables import JOBS

Q = "analytics-sync"
OLD = timedelta(days=45)  # past the 30-day default window of jobs and firings


def _finish(api: Any, status: JobStatus) -> str:
    job_id = str(api.enqueue_job("ping", {}, queue=Q).id)
    repo, now = api.backends.repo, utcnow()
    assert repo.claim(job_id, "w1", now) == 1
    if status == JobStatus.COMPLETED:
        assert repo.complete(job_id, 1, {"pong": True}, now)
    elif status == JobStatus.FAILED:
        assert repo.fail(job_id, 1, JobError("PingFailure", "boom"), now)
    else:
        assert repo.cancel(job_id, now) == JobStatus.RUNNING
    return job_id


def _age(api: Any, ids: list[str], by: timedelta) -> None:
    with api.backends.engine.begin() as conn:
        conn.execute(update(JOBS).where(JOBS.c.id.in_(ids)).values(finished_at=utcnow() - by))


def _count(api: Any, table: Any, *where: Any) -> int:
    with api.backends.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def _jobs(api: Any, ids: list[str]) -> int:
    return _count(api, JOBS, JOBS.c.id.in_(ids))


def _attempts(api: Any, ids: list[str]) -> int:
    return _count(api, JOB_ATTEMPTS, JOB_ATTEMPTS.c.job_id.in_(ids))


def _with_windows(api: Any, **values: int) -> None:
    api.settings = replace(api.settings, retention=replace(api.settings.retention, **values))


@pytest.fixture
def world(api: Any) -> dict[str, Any]:
    """Seven old finished jobs (each with an attempt row, progress and log keys), two recent
    ones, a PENDING and a RUNNING job created long ago; firings, audit rows and post analytics,
    old and new."""
    statuses = [JobStatus.COMPLETED] * 3 + [JobStatus.FAILED] * 2 + [JobStatus.CANCELLED] * 2
    old = [_finish(api, s) for s in statuses]
    recent = [_finish(api, JobStatus.COMPLETED), _finish(api, JobStatus.FAILED)]
    pending = str(api.enqueue_job("ping", {}, queue=Q).id)
    running = str(api.enqueue_job("ping", {}, queue=Q).id)
    assert api.backends.repo.claim(running, "w1", utcnow()) == 1
    _age(api, old, OLD)
    with api.backends.engine.begin() as conn:  # active jobs created long ago stay all the same
        ancient = utcnow() - timedelta(days=400)
        conn.execute(update(JOBS).where(JOBS.c.id.in_([pending, running])).values(created_at=ancient))
    r = api.backends.redis
    for job_id in old + recent:
        r.set(progress_key(job_id), b"{}")
        r.rpush(logs_key(job_id), b"line")
    from jobctl.api.schedules import ScheduleAPI

    sch = ScheduleAPI(api).add("hourly-ping", "ping", "0 * * * *", queue=Q).record
    now = utcnow()
    rows = [{"schedule_id": sch.id, "fire_time": now - timedelta(days=d, hours=1), "outcome": "enqueued",
             "job_written": True, "manual": False, "recorded_at": now - timedelta(days=d)}
            for d in (40, 50, 60, 1)]  # fmt: skip
    with api.backends.engine.begin() as conn:
        conn.execute(insert(FIRINGS), rows)
    audit = AuditRepository(api.backends.engine)
    audit.add(NewAuditEntry(Actor("alice"), "jobs.purge", {}, 1), now - timedelta(days=400))
    audit.add(NewAuditEntry(Actor("alice"), "jobs.purge", {}, 1), now - timedelta(days=10))
    metrics = [{"id": f"pa{d}", "organization_id": "acme", "platform": "twitter", "external_post_id": f"p{d}",
                "likes": 1, "comments": 0, "shares": 0, "saves": 0, "clicks": 0,
                "collected_at": now - timedelta(days=d)} for d in (500, 450, 3)]  # fmt: skip
    with api.backends.engine.begin() as conn:
        conn.execute(insert(POST_ANALYTICS), metrics)
    return {"old": old, "recent": recent, "active": [pending, running]}


def test_sweep_prunes_old_finished_jobs_in_bounded_batches(api: Any, world: dict[str, Any]) -> None:
    old, recent, active = world["old"], world["recent"], world["active"]
    assert _attempts(api, old) == 7
    _with_windows(api, batch_size=3)
    deletes: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM JOBS"):
            deletes.append(statement)

    event.listen(api.backends.engine, "before_cursor_execute", count)
    try:
        sweep = open_sweep(api)
        report = sweep.run(utcnow())
    finally:
        event.remove(api.backends.engine, "before_cursor_execute", count)
    by_table = {t.table: t for t in report.tables}
    # 7 old jobs in batches of 3: 3 + 3 + 1 (a short batch ends the table), one DELETE each
    assert (by_table["jobs"].deleted, by_table["jobs"].batches, len(deletes)) == (7, 3, 3)
    assert (by_table["schedule_firings"].deleted, by_table["schedule_firings"].batches) == (3, 2)
    assert by_table["audit_log"].deleted == 1
    assert (by_table["post_analytics"].deleted, by_table["post_analytics"].batches) == (2, 1)
    assert sweep.statements == 3 + 2 + 1 + 1 and report.stopped is None
    assert _count(api, POST_ANALYTICS) == 1
    assert _jobs(api, old) == 0 and _attempts(api, old) == 0
    assert _jobs(api, recent) == 2 and _attempts(api, recent) == 2
    assert _jobs(api, active) == 2  # PENDING and RUNNING, though created 400 days ago
    assert _count(api, FIRINGS) == 1
    r = api.backends.redis
    for job_id in old:
        assert not r.exists(progress_key(job_id), logs_key(job_id), JobctlJob.key_for(job_id))
    for job_id in recent:
        assert r.exists(progress_key(job_id)) and r.exists(logs_key(job_id))
    assert r.exists(JobctlJob.key_for(active[0]))  # the PENDING job is still queued in RQ
    assert r.get(LAST_SWEEP_KEY) is not None and r.get(f"jobctl:lease:{LEASE_NAME}") is None
    # the next sweep finds nothing: one short batch per table
    again = open_sweep(api).run(utcnow())
    assert again.deleted == 0 and [t.batches for t in again.tables] == [1, 1, 1, 1]


def test_dry_run_counts_and_changes_nothing(api: Any, world: dict[str, Any]) -> None:
    before = {t: _count(api, t) for t in (JOBS, JOB_ATTEMPTS, FIRINGS)}
    report = prune(api, dry_run=True)
    counts = {t.table: t.deleted for t in report.tables}
    assert counts == {"jobs": 7, "schedule_firings": 3, "post_analytics": 2, "audit_log": 1}
    assert report.dry_run and all(t.batches == 0 for t in report.tables)
    assert {t: _count(api, t) for t in (JOBS, JOB_ATTEMPTS, FIRINGS)} == before
    r = api.backends.redis
    assert all(r.exists(progress_key(j)) for j in world["old"])
    assert r.get(LAST_SWEEP_KEY) is None
    from jobctl.api.bulk import BulkAPI

    assert [e.action for e in BulkAPI(api).audit_log()] == ["jobs.purge", "jobs.purge"]
    # the real run by hand writes one audit row with what it deleted
    done = prune(api)
    assert done.deleted == 7 + 3 + 2 + 1
    entry = BulkAPI(api).audit_log(action=PRUNE)[0]
    windows = {"jobs": 30, "schedule_firings": 30, "post_analytics": 400, "audit_log": 365}
    assert entry.count == 13 and entry.filter == {"days": windows}


def test_zero_days_keeps_forever_and_missing_tables_are_skipped(api: Any, world: dict[str, Any]) -> None:
    _with_windows(api, jobs_days=0)
    rules = (*RULES, RetentionRule("no_such_table", "at", "audit_days", "nothing"))
    sweep = open_sweep(api)
    sweep.rules = rules
    report = sweep.run(utcnow())
    skipped = {t.table: t.skipped for t in report.tables}
    assert skipped == {
        "jobs": "kept forever (0 days)", "schedule_firings": None, "post_analytics": None,
        "audit_log": None, "no_such_table": "no such table",
    }  # fmt: skip
    assert _jobs(api, world["old"]) == 7
    assert _count(api, FIRINGS) == 1


def test_two_sweeps_at_once_one_works(api: Any, world: dict[str, Any], redis_url: str) -> None:
    _with_windows(api, batch_size=1)  # 7 + 3 + 2 + 1 batches with a pause each: ~0.7 s
    first, second = open_sweep(api, holder="first"), open_sweep(api, holder="second")
    reports: list[Any] = []
    thread = threading.Thread(target=lambda: reports.append(first.run(utcnow())))
    thread.start()
    probe = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + 10
    while probe.get(f"jobctl:lease:{LEASE_NAME}") is None and time.monotonic() < deadline:
        time.sleep(0.005)
    with pytest.raises(SweepBusyError, match="first is pruning now"):
        second.run(utcnow())
    thread.join(30)
    assert reports[0].deleted == 13 and second.statements == 0
    # a lease held elsewhere (another host) refuses `jobctl db prune` too, untouched
    other = RedisLease(probe, LEASE_NAME, "elsewhere", 30)
    assert other.acquire() is not None
    with pytest.raises(SweepBusyError):
        prune(api)
    other.release()


def test_a_lost_lease_stops_the_sweep_between_batches(api: Any, world: Any, redis_url: str) -> None:
    _with_windows(api, batch_size=2)
    sweep = open_sweep(api, holder="slow")
    probe = redis.Redis.from_url(redis_url)
    real = sweep.queries.delete_jobs

    def delete_then_lose(cutoff: Any, limit: int) -> Any:
        gone = real(cutoff, limit)
        probe.delete(f"jobctl:lease:{LEASE_NAME}")  # the TTL ran out while this process stalled
        return gone

    sweep.queries.delete_jobs = delete_then_lose  # type: ignore[method-assign]
    report = sweep.run(utcnow())
    assert report.stopped == "lease lost" and report.tables[0].deleted == 2
    assert probe.get(LAST_SWEEP_KEY) is None  # an unfinished sweep is not the last complete one
    assert _jobs(api, world["old"]) == 5


def test_doctor_reports_the_sizes(env: dict[str, str], api: Any, world: dict[str, Any]) -> None:
    from jobctl.api.doctor import run_doctor

    report = run_doctor(None, env)
    check = next(c for c in report.checks if c.name == "retention")
    tables = {t["table"]: t for t in check.details["tables"]}
    assert tables["jobs"]["rows"] == 11 and tables["jobs"]["bytes"] > 0
    assert tables["schedule_firings"]["rows"] == 4 and tables["audit_log"]["rows"] == 2
    assert tables["post_analytics"]["rows"] == 3
    assert check.details["database_bytes"] > 0
    # 45-day-old jobs and 60-day-old firings are past their 30-day windows: nothing prunes them
    overdue = "older than their window: jobs, schedule_firings, post_analytics"
    assert check.status == "warn" and overdue in check.finding
    assert "jobs 11 rows (" in check.finding and "last sweep never" in check.finding
    prune(api)
    after = next(c for c in run_doctor(None, env).checks if c.name == "retention")
    assert after.status == "ok" and "jobs 4 rows" in after.finding and "(13 rows deleted)" in after.finding


def test_the_scheduler_loop_sweeps_when_due(api: Any, world: dict[str, Any]) -> None:
    stop = threading.Event()
    loop = RetentionLoop(open_sweep(api), stop, interval_s=3600, check_s=0.05, first_check_s=0.01).start()
    deadline = time.monotonic() + 20
    while _jobs(api, world["old"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # several more checks: the sweep just done makes them wait an hour
    stop.set()
    loop.join(10)
    assert _jobs(api, world["old"]) == 0 and loop.sweeps == 1


def test_a_running_scheduler_process_sweeps(env: dict[str, str], api: Any, world: dict[str, Any]) -> None:
    """`jobctl scheduler` runs the sweep beside its loop (first look ~10 s after start)."""
    import os
    import subprocess
    import sys

    environ = {**os.environ, **env, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobctl", "scheduler", "--log-json"], env=environ,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        r = api.backends.redis
        deadline = time.monotonic() + 60
        while r.get(LAST_SWEEP_KEY) is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert r.get(LAST_SWEEP_KEY) is not None, "no sweep within 60 s of the scheduler's start"
    finally:
        proc.terminate()
        proc.wait(30)
    assert _jobs(api, world["old"]) == 0 and _jobs(api, world["active"]) == 2
