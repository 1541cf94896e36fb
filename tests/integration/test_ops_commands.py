"""The scripting commands' API on both databases and the real Redis: `check` figures and
verdicts, `purge` in batches that never touch active jobs, `retry --all-failed` through the
single-job path, and the audit rows both write."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import redis
from sqlalchemy import func, select

from jobctl.api.bulk import PURGE, RETRY, BulkAPI
from jobctl.api.checks import CheckOptions, run_checks
from jobctl.domain.audit import Actor
from jobctl.domain.bulk import JobSelection
from jobctl.domain.context import SourceKind, SourceStatus
from jobctl.domain.errors import InvalidInputError
from jobctl.domain.records import JobError
from jobctl.domain.status import JobStatus
from jobctl.domain.timeparse import utcnow
from jobctl.store.attempt_tables import JOB_ATTEMPTS
from jobctl.store.context_repo import ContextRepository

Q = "analytics-sync"
ERR = JobError("PingFailure", "boom")


def _ping(api: Any, **kw: Any) -> str:
    return str(api.enqueue_job("ping", {}, queue=Q, **kw).id)


def _finish(api: Any, status: JobStatus) -> str:
    """A job that ran once and ended `status` (through the store's own transitions)."""
    job_id = _ping(api)
    repo, now = api.backends.repo, utcnow()
    assert repo.claim(job_id, "w1", now) == 1
    if status == JobStatus.COMPLETED:
        assert repo.complete(job_id, 1, {"pong": True}, now)
    elif status == JobStatus.FAILED:
        assert repo.fail(job_id, 1, ERR, now)
    else:
        assert repo.cancel(job_id, now) == JobStatus.RUNNING
    return job_id


def _attempt_rows(api: Any, ids: list[str]) -> int:
    stmt = select(func.count()).select_from(JOB_ATTEMPTS).where(JOB_ATTEMPTS.c.job_id.in_(ids))
    with api.backends.engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def test_check_figures_and_verdicts(api: Any) -> None:
    due = _ping(api)
    _ping(api, delay=timedelta(hours=1))  # scheduled for later: not waiting yet
    retrying = _ping(api)
    repo = api.backends.repo
    assert repo.claim(retrying, "w1", utcnow()) == 1
    assert repo.schedule_retry(retrying, 1, ERR, utcnow() + timedelta(minutes=30), utcnow())
    failed = _finish(api, JobStatus.FAILED)
    _finish(api, JobStatus.COMPLETED)
    later = utcnow() + timedelta(seconds=120)

    report = run_checks(api, CheckOptions(max_queue_age=timedelta(minutes=5)), now=later)
    assert report.ok and report.results[0].name == "queue_age"
    assert 119 <= report.results[0].value <= 125  # `due`, created ~now: not the later ones
    assert report.line().startswith("OK: oldest of 1 due PENDING job(s) has waited 2m")
    tight = run_checks(api, CheckOptions(max_queue_age=timedelta(minutes=1)), now=later)
    assert not tight.ok and tight.line().startswith("FAILED: oldest of 1 due PENDING job(s)")
    # the retry waits 30 minutes: due, and the oldest, only once that time has come
    after_retry = run_checks(
        api, CheckOptions(max_queue_age=timedelta(hours=1)), now=utcnow() + timedelta(minutes=31)
    )
    assert after_retry.results[0].reason.startswith("oldest of 2 due PENDING job(s)")
    other = run_checks(
        api, CheckOptions(max_queue_age=timedelta(seconds=1), queues=("content-generation",)), now=later
    )
    assert other.ok and other.results[0].reason.startswith("no job waiting on content-generation")

    none_allowed = run_checks(api, CheckOptions(max_failed=0))
    assert not none_allowed.ok
    assert none_allowed.line() == ("FAILED: 1 job(s) failed in the last 1h (max 0) | failed_jobs=1;;0")
    assert run_checks(api, CheckOptions(max_failed=1)).ok
    assert run_checks(api, CheckOptions(max_failed=0, since=timedelta(seconds=1)), now=later).ok
    assert run_checks(api, CheckOptions(max_failed=0, queues=("context-scraping",))).ok

    context = ContextRepository(api.backends.engine)
    source, _ = context.add_source("acme", SourceKind.RSS, "https://example.com/feed", None, utcnow())
    assert run_checks(api, CheckOptions(max_unhealthy_sources=0)).ok
    context.set_status(source.id, SourceStatus.UNHEALTHY, utcnow())
    sources = run_checks(api, CheckOptions(max_failed=5, max_unhealthy_sources=0))
    assert not sources.ok
    assert sources.line().startswith("FAILED: 1 context source(s) UNHEALTHY (max 0) |")
    assert [c["verdict"] for c in sources.to_json()["checks"]] == ["ok", "failed"]
    assert sources.to_json()["checks"][0] == {
        "name": "failed_jobs", "value": 1, "threshold": 5, "unit": "jobs", "verdict": "ok",
        "reason": "1 job(s) failed in the last 1h (max 5)",
    }  # fmt: skip
    with pytest.raises(InvalidInputError):
        run_checks(api, CheckOptions())
    assert due and failed


def test_purge_in_batches_keeps_active_jobs(api: Any, redis_url: str, monkeypatch: Any) -> None:
    monkeypatch.setattr("jobctl.api.bulk.BATCH", 3)  # 7 jobs: three DELETE transactions
    finished = [
        _finish(api, s)
        for s in [JobStatus.COMPLETED] * 3 + [JobStatus.FAILED] * 2 + [JobStatus.CANCELLED] * 2
    ]
    pending = _ping(api)
    running = _ping(api)
    assert api.backends.repo.claim(running, "w1", utcnow()) == 1
    conn = redis.Redis.from_url(redis_url)
    conn.hset(f"jobctl:progress:{finished[0]}", "done", 1)
    conn.rpush(f"jobctl:logs:{finished[0]}", "1 {}")
    assert _attempt_rows(api, finished) == 7

    bulk = BulkAPI(api)
    everything = JobSelection(statuses=(JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED),
                              finished_before=utcnow() + timedelta(seconds=1))  # fmt: skip
    with pytest.raises(InvalidInputError):
        bulk.preview(PURGE, JobSelection(statuses=(JobStatus.PENDING,), finished_before=utcnow()))
    with pytest.raises(InvalidInputError):
        bulk.preview(PURGE, JobSelection(statuses=(JobStatus.FAILED,)))  # no age: refused
    too_young = bulk.preview(
        PURGE, JobSelection(statuses=everything.statuses, finished_before=utcnow() - timedelta(hours=1))
    )
    assert too_young.matched == 0
    report = bulk.preview(PURGE, everything)
    assert report.matched == 7 and report.by_status == {"COMPLETED": 3, "FAILED": 2, "CANCELLED": 2}
    assert api.backends.repo.get(finished[0]) is not None  # the preview changed nothing

    done = bulk.purge(report, Actor("alice"))
    assert done.done == 7 and done.aborted is None
    assert api.backends.repo.get_many([*finished, pending, running]).keys() == {pending, running}
    assert _attempt_rows(api, finished) == 0 and _attempt_rows(api, [running]) == 1
    for job_id in finished:
        assert not conn.exists(f"rq:job:{job_id}")
    assert not conn.exists(f"jobctl:progress:{finished[0]}", f"jobctl:logs:{finished[0]}")
    assert conn.exists(f"rq:job:{pending}")
    assert [v.decode() for v in conn.lrange(f"rq:queue:{Q}", 0, -1)] == [pending, running]
    [entry] = bulk.audit_log()
    assert (entry.actor, entry.actor_kind, entry.action, entry.count) == ("alice", "os-user", PURGE, 7)
    assert entry.filter["statuses"] == ["COMPLETED", "FAILED", "CANCELLED"]
    assert entry.detail == {"matched": 7, "by_status": report.by_status, "skipped": 0, "aborted": None}
    conn.close()


def test_retry_all_failed_uses_the_single_retry_path(api: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr("jobctl.api.bulk.BATCH", 2)  # 5 failed jobs: three keyset pages
    failed = [_finish(api, JobStatus.FAILED) for _ in range(5)]
    kept = _finish(api, JobStatus.CANCELLED)
    bulk = BulkAPI(api)
    selection = JobSelection(statuses=(JobStatus.FAILED,), finished_before=utcnow() + timedelta(seconds=1))
    report = bulk.preview(RETRY, selection)
    assert report.matched == 5
    assert bulk.audit_log() == []  # a preview writes no audit row
    bulk.retry_all(report, Actor("bob"))
    assert report.done == 5 and not report.skipped
    rows = api.backends.repo.get_many([*failed, kept])
    for job_id in failed:  # as `jobs retry ID`: PENDING, a fresh budget, the error cleared
        assert (
            rows[job_id].status == JobStatus.PENDING
            and rows[job_id].max_attempts == 1 + api.policy.max_attempts
        )
        assert rows[job_id].error is None
    assert rows[kept].status == JobStatus.CANCELLED
    [entry] = bulk.audit_log(action=RETRY)
    assert (entry.actor, entry.count, entry.filter["statuses"]) == ("bob", 5, ["FAILED"])
    assert bulk.preview(RETRY, selection).matched == 0
