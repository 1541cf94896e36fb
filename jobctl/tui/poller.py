"""What one refresh fetches, run in a thread worker so the UI never waits on Redis or SQL.

One loop per backend, each one poll at a time and re-armed only after its poll finished:
Redis (RQ's counts and workers) and SQL (the last-hour figures, then what the current view
shows: a page of jobs, the failed groups, the open job). A backend that hangs or times out
then never holds up the other's figures, and a slow search never holds up the counts. A
query's own cost sets how often it may run (`Cadence`): at most 1/DUTY of the time, so a
200 ms query refreshes every 2 s instead of keeping the database busy.

Fetchers return what they could get plus a message per backend that failed; the app keeps
the last good data of a failed part and shows the message in the outage banner.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from jobctl.api.dashboard import (
    Cursor,
    Dashboard,
    FailedGroup,
    JobPage,
    JobSearch,
    QueueActivity,
    RecentActivity,
    ScheduleView,
)
from jobctl.domain.attempts import AttemptRecord
from jobctl.domain.errors import (
    BackendUnavailableError,
    DatabaseUnavailableError,
    JobNotFoundError,
    RedisUnavailableError,
)
from jobctl.domain.progress import JobActivity, JobProgress
from jobctl.domain.records import JobRecord
from jobctl.domain.status import JobStatus

DUTY = 10.0  # a query may run at most 1/DUTY of the time: wait >= DUTY x its last duration
T = TypeVar("T")


class Backend(StrEnum):
    REDIS = "Redis"
    DATABASE = "database"


class Cadence:
    """When a query may run again: after `interval`, or DUTY times its last duration."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.next_at = 0.0
        self.last_duration = 0.0

    def due(self) -> bool:
        return time.monotonic() >= self.next_at

    def ran(self, started: float, duration: float) -> None:
        self.last_duration = duration
        self.next_at = started + self.delay()

    def delay(self) -> float:
        return max(self.interval, DUTY * self.last_duration)

    def reset(self) -> None:
        self.next_at = 0.0


@dataclass
class Outcome:
    """Errors met by one poll, by backend (absent: that backend answered, or was not asked)."""

    errors: dict[Backend, str] = field(default_factory=dict)
    reached: set[Backend] = field(default_factory=set)

    def attempt(self, backend: Backend, fn: Callable[[], T]) -> T | None:
        try:
            value = fn()
        except BackendUnavailableError as exc:
            self.errors[_backend_of(exc, backend)] = exc.message
            return None
        self.reached.add(backend)
        return value


def _backend_of(exc: BackendUnavailableError, default: Backend) -> Backend:
    if isinstance(exc, RedisUnavailableError):
        return Backend.REDIS
    if isinstance(exc, DatabaseUnavailableError):
        return Backend.DATABASE
    return default


def fetch_redis(dash: Dashboard) -> tuple[Outcome, QueueActivity | None]:
    """The Redis loop: RQ's counts and workers (a few O(1) commands per queue)."""
    out = Outcome()
    return out, out.attempt(Backend.REDIS, dash.queue_activity)


@dataclass(frozen=True)
class SqlRequest:
    """Everything the SQL loop needs, captured on the UI thread (workers touch no widget)."""

    generation: int
    recent_since: datetime | None = None  # failures seen at; None: the last-hour figures are not due
    search: JobSearch | None = None  # the jobs page to fetch, if the jobs view is showing
    after: Cursor | None = None
    newest_first: bool = True
    page_size: int = 100
    groups: bool = False
    schedules: bool = False
    detail_id: str | None = None


@dataclass
class SqlResult:
    request: SqlRequest
    outcome: Outcome
    recent: RecentActivity | None = None
    recent_took: float | None = None
    page: JobPage | None = None
    groups: list[FailedGroup] | None = None
    schedules: list[ScheduleView] | None = None
    detail: JobRecord | None = None
    detail_attempts: tuple[AttemptRecord, ...] | None = None  # the open job's timeline
    detail_missing: bool = False  # the open job was deleted meanwhile
    progress: dict[str, JobProgress] | None = None  # of the page's running jobs (Redis)
    activity: JobActivity | None = None  # the open job's progress and last lines (Redis)
    started: float = 0.0
    view_took: float = 0.0  # the page/groups/detail part, which sets the loop's pace


def fetch_sql(dash: Dashboard, req: SqlRequest) -> SqlResult:
    """The SQL loop: the last-hour figures when due, then what the current view shows."""
    result = SqlResult(req, Outcome(), started=time.monotonic())
    out = result.outcome
    if req.recent_since is not None:
        seen = req.recent_since
        result.recent = out.attempt(Backend.DATABASE, lambda: dash.recent_activity(seen))
        result.recent_took = time.monotonic() - result.started
    view_started = time.monotonic()
    if req.search is not None:
        search = req.search
        result.page = out.attempt(
            Backend.DATABASE,
            lambda: dash.jobs_page(
                search, limit=req.page_size, after=req.after, newest_first=req.newest_first
            ),
        )
    if result.page is not None:
        running = [r.id for r in result.page.rows if r.status is JobStatus.RUNNING]
        result.progress = out.attempt(Backend.REDIS, lambda: dash.progress_of(running)) if running else {}
    if req.groups:
        result.groups = out.attempt(Backend.DATABASE, dash.failed_groups)
    if req.schedules:
        result.schedules = out.attempt(Backend.DATABASE, dash.schedules)
    if req.detail_id is not None:
        job_id = req.detail_id
        try:
            result.detail = out.attempt(Backend.DATABASE, lambda: dash.job(job_id))
        except JobNotFoundError:
            result.detail_missing = True
        if result.detail is not None:
            attempts = out.attempt(Backend.DATABASE, lambda: dash.job_attempts(job_id))
            result.detail_attempts = tuple(attempts) if attempts is not None else None
            result.activity = out.attempt(Backend.REDIS, lambda: dash.job_activity(job_id))
    result.view_took = time.monotonic() - view_started
    return result
