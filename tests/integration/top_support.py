"""Helpers for the `jobctl top` tests: a fixed clock, a seeded store and Redis, waiting for polls.

The seed goes through the store and RQ as jobctl itself writes them (JobRepository, Producer,
RQ's registries), with fixed ids and times, so screenshots are identical on every run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from redis import Redis
from rq import Queue, Worker
from rq.job import JobStatus as RQJobStatus

from jobctl.api import JobctlAPI, upgrade_database
from jobctl.api.schedules import ScheduleAPI
from jobctl.domain.context import UNHEALTHY_AFTER, SourceKind
from jobctl.domain.records import JobError, NewJob
from jobctl.queue.rq_job import SERIALIZER, JobctlJob
from jobctl.settings import load_settings

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
SCRAPING, ANALYTICS = "context-scraping", "analytics-sync"
TRACEBACK = (
    'Traceback (most recent call last):\n  File "ping.py", line 30, in run\nJobProcessingError: boom\n'
)


def make_api(database_url: str, redis_url: str, tmp_path: Path) -> JobctlAPI:
    """A migrated, seeded JobctlAPI over real backends, as a user would configure it."""
    env = {
        "HOME": str(tmp_path),
        "JOBCTL_DATA_DIR": str(tmp_path / "data"),
        "JOBCTL_DATABASE_URL": database_url,
        "JOBCTL_REDIS_URL": redis_url,
    }
    settings = load_settings(env=env)
    upgrade_database(settings)
    api = JobctlAPI(settings)
    seed(api)
    return api


def ago(**kw: float) -> datetime:
    return NOW - timedelta(**kw)


def _new(job_id: str, queue: str, org: str | None, payload: dict[str, Any] | None = None) -> NewJob:
    return NewJob(
        id=job_id, type="ping", queue=queue, organization_id=org, payload=payload or {}, max_attempts=4
    )


def add_pending(api: JobctlAPI, job_id: str, queue: str, created: datetime, org: str | None = None) -> None:
    job = _new(job_id, queue, org)
    api.backends.repo.insert_many([job], created)
    api.backends.producer.push([job], created)


def add_ended(
    api: JobctlAPI,
    job_id: str,
    queue: str,
    created: datetime,
    outcome: str,
    *,
    org: str | None = None,
    took: float = 2.0,
    error: tuple[str, str] = ("JobProcessingError", "ping failed on purpose (attempt 4)"),
) -> None:
    """A job that ran to COMPLETED / FAILED / RUNNING, with its RQ side where RQ keeps one."""
    repo = api.backends.repo
    repo.insert_many([_new(job_id, queue, org, {"sleep_s": 1})], created)
    started = created + timedelta(seconds=1)
    attempt = repo.claim(job_id, "worker-a", started)
    assert attempt is not None
    finished = started + timedelta(seconds=took)
    if outcome == "COMPLETED":
        repo.complete(job_id, attempt, {"pong": True}, finished)
    elif outcome == "FAILED":
        repo.fail(job_id, attempt, JobError(error[0], error[1], TRACEBACK), finished)
        api.backends.producer.push([_new(job_id, queue, org)], created)
        q = Queue(queue, connection=api.backends.redis, job_class=JobctlJob, serializer=SERIALIZER)
        rq_job = JobctlJob.fetch(job_id, connection=api.backends.redis, serializer=SERIALIZER)
        q.remove(rq_job)
        rq_job.set_status(RQJobStatus.FAILED)
        q.failed_job_registry.add(rq_job, ttl=3600, exc_string=error[1])


def add_worker(conn: Redis, name: str, queues: list[str], beat: datetime, job: str | None = None) -> None:
    """Register an RQ worker as RQ does, then pin the fields a screenshot shows."""
    w = Worker([Queue(q, connection=conn) for q in queues], connection=conn, name=name)
    w.register_birth()
    fields: dict[str, Any] = {
        "hostname": "host-1",
        "pid": 4242,
        "state": "busy" if job else "idle",
        "last_heartbeat": beat.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    if job:
        fields["current_job"] = job
    conn.hset(w.key, mapping=fields)


def seed(api: JobctlAPI) -> None:
    """A small, fixed world: waiting, running, finished and failed jobs; a live and a stale
    worker; two schedules; an UNHEALTHY context source and a healthy one."""
    for i in range(3):
        add_pending(api, f"wait-{i}", SCRAPING, ago(minutes=3 - i), org="acme")
    add_pending(api, "wait-analytics", ANALYTICS, ago(minutes=5), org="globex")
    for i, minutes in enumerate((2, 4, 4, 12, 50)):
        add_ended(api, f"done-{i}", SCRAPING, ago(minutes=minutes), "COMPLETED", org="acme")
    add_ended(api, "fail-0", SCRAPING, ago(minutes=20), "FAILED", org="acme")
    add_ended(api, "fail-1", SCRAPING, ago(minutes=8), "FAILED", org="globex")
    add_ended(
        api, "fail-bad", ANALYTICS, ago(minutes=6), "FAILED",
        error=("PayloadValidationError", "invalid payload for ping: sleep_s: not a number"),
    )  # fmt: skip
    add_ended(api, "run-0", SCRAPING, ago(seconds=40), "RUNNING", org="acme")
    add_worker(api.backends.redis, "worker-a", [SCRAPING], ago(seconds=5), job="run-0")
    add_worker(api.backends.redis, "worker-gone", [ANALYTICS], ago(minutes=20))
    add_source(api, "https://feeds.example/gone.xml", failures=UNHEALTHY_AFTER)  # UNHEALTHY
    add_source(api, "https://feeds.example/fine.xml", failures=1)  # ACTIVE, one failure
    schedules = ScheduleAPI(api)
    for name, cron, enabled in (
        ("ping-scraping", "*/15 * * * *", True),
        ("ping-nightly", "30 2 * * *", False),
    ):
        new = schedules.validate(name, "ping", cron, {}, queue=SCRAPING, enabled=enabled)
        schedules.repo.insert(new, ago(days=1))


def add_source(api: JobctlAPI, url: str, *, failures: int, org: str = "acme") -> str:
    """An RSS source whose last `failures` syncs failed (one job each), through the repository."""
    from jobctl.store.context_repo import ContextRepository

    repo = ContextRepository(api.backends.engine)
    source, _ = repo.add_source(org, SourceKind.RSS, url, None, ago(days=2))
    for n in range(failures):
        repo.record_failure(
            source.id, f"sync-rss-{source.id}-{n}", "HTTP 500 from the feed", ago(hours=5 - n)
        )
    return source.id


async def settle(pilot: Any, *, polls: int = 2) -> None:
    """Wait until the app has polled `polls` times and nothing is in flight (at most ~10 s)."""
    app = pilot.app
    for _ in range(500):
        await pilot.pause(0.02)
        if (
            app.polls >= polls
            and app.settled
            and not any(w.is_running for w in app.workers)
            and measured(app)
        ):
            break
    await pilot.pause()


def measured(app: Any) -> bool:
    """No table of the screen still owes its column widths. DataTable measures new rows only
    when its message queue is idle, so on a loaded machine a screenshot taken right after a
    fill showed columns at their headers' widths (a flaky 80x24 snapshot in CI)."""
    from textual.widgets import DataTable

    return not any(t._require_update_dimensions or t._updated_cells for t in app.screen.query(DataTable))


async def type_text(pilot: Any, text: str) -> None:
    for ch in text:
        await pilot.press(ch if ch != " " else "space")


async def until(pilot: Any, check: Any, timeout: float = 10.0) -> None:
    """Pause until `check()` is true (re-raising nothing: the caller asserts afterwards)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline and not check():
        await pilot.pause(0.05)


Scenario = Callable[[Any], Awaitable[None]]


def run_top(
    api: JobctlAPI, scenario: Scenario, *, readonly: bool = False, size: tuple[int, int] = (100, 30)
) -> None:
    """`jobctl top` in Pilot on `api`, frozen at NOW with no refresh timer, running `scenario`."""
    from jobctl.tui.app import create_app

    app = create_app(api=api, interval=3600, readonly=readonly, clock=lambda: NOW, seen_path=None)

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await scenario(pilot)

    asyncio.run(main())
