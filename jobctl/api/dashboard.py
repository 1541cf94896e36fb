"""Read models and bulk actions for `jobctl top`, UI-free so any front end can reuse them.

Each read touches one backend, so the dashboard can keep the last good data of the other
when one goes away: `queue_activity` is Redis only (RQ's registries give every count in
O(1)), `recent_activity` and the listings are SQL only, bounded (see
jobctl.store.dashboard_queries). Actions go through JobctlAPI one job at a time, exactly as
the CLI's do; bulk ones walk the matching ids in keyset pages, never loading them all.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cached_property
from typing import Any

from jobctl.api.dashboard_filter import parse_filter
from jobctl.api.jobs import JobctlAPI
from jobctl.api.schedules import ScheduleAPI, ScheduleView
from jobctl.domain.attempts import AttemptRecord
from jobctl.domain.errors import BackendUnavailableError, InvalidTransitionError, JobNotFoundError
from jobctl.domain.progress import JobActivity, JobProgress
from jobctl.domain.records import JobRecord
from jobctl.domain.status import JobStatus
from jobctl.domain.timeparse import utcnow
from jobctl.store.dashboard_queries import (
    Cursor,
    DashboardQueries,
    FailedGroup,
    FailedGroupKey,
    FinishedBucket,
    JobSearch,
    JobSummary,
    Term,
)

__all__ = [
    "THROUGHPUT_MINUTES",
    "Action",
    "BulkReport",
    "Cursor",
    "Dashboard",
    "FailedGroup",
    "FailedGroupKey",
    "JobActivity",
    "JobPage",
    "JobProgress",
    "JobSearch",
    "JobSummary",
    "QueueActivity",
    "QueueRow",
    "RecentActivity",
    "ScheduleView",
    "WorkerRow",
    "parse_filter",
    "queue_rows",
]

THROUGHPUT_MINUTES = 15
FAILURE_BADGE_CAP = 1000  # the badge says "999+" rather than count an unbounded range
RQ_WORKER_TTL_S = 420  # RQ's default worker_ttl: an idle RQ worker heartbeats every ttl - 15 s
_BULK_PAGE = 500


class Action(StrEnum):
    RETRY = "retry"
    CANCEL = "cancel"
    DELETE = "delete"

    @property
    def applies_to(self) -> tuple[JobStatus, ...]:
        """The statuses a job must have for this action (the API refuses the others)."""
        if self is Action.RETRY:
            return (JobStatus.FAILED, JobStatus.CANCELLED)
        if self is Action.CANCEL:
            return (JobStatus.PENDING, JobStatus.RUNNING)
        return (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)

    def narrowed(self, search: JobSearch) -> JobSearch:
        """`search` limited to the jobs this action applies to, so a count is what it will do."""
        term = Term("status", tuple(s.value for s in self.applies_to))
        return replace(search, terms=(*search.terms, term))


@dataclass(frozen=True)
class WorkerRow:
    name: str
    hostname: str | None
    pid: int | None
    queues: tuple[str, ...]
    state: str
    current_job_id: str | None
    last_heartbeat: datetime | None
    stale: bool  # no heartbeat for longer than RQ itself waits between two of a live worker


@dataclass(frozen=True)
class QueueActivity:
    """Redis's view: RQ's per-queue counts and registered workers, read at `taken_at`."""

    counts: list[Any]  # jobctl.queue.stats.QueueCounts
    workers: list[WorkerRow]
    taken_at: datetime


@dataclass(frozen=True)
class RecentActivity:
    """SQL's view of the last hour: finished jobs per queue and minute, new failures; and the
    context sources UNHEALTHY now (their scheduled syncs paused until an operator acts) and the
    social accounts in NEEDS_REAUTH (their jobs fail until an operator reconnects them)."""

    buckets: list[FinishedBucket]
    new_failures: int  # capped at FAILURE_BADGE_CAP
    taken_at: datetime
    unhealthy_sources: int = 0  # capped at FAILURE_BADGE_CAP
    reauth_accounts: int = 0  # capped at FAILURE_BADGE_CAP


@dataclass(frozen=True)
class QueueRow:
    name: str
    queued: int | None
    running: int | None
    scheduled: int | None
    failed: int | None
    workers: int | None  # live (not stale) workers listening
    completed_1h: int | None
    failed_1h: int | None
    throughput: tuple[int, ...]  # jobs finished per minute, oldest first, THROUGHPUT_MINUTES long
    paused: bool = False  # `jobctl queues pause`: workers take nothing from it

    @property
    def unattended(self) -> bool:
        """Work is waiting and no live worker listens to this queue."""
        return self.workers == 0 and bool(self.queued or self.scheduled)


@dataclass(frozen=True)
class JobPage:
    rows: list[JobSummary]
    has_more: bool


@dataclass
class BulkReport:
    action: Action
    done: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (job id, why)
    aborted: str | None = None  # a backend went away: the rest was not attempted

    def summary(self) -> str:
        verb = {Action.RETRY: "retried", Action.CANCEL: "cancelled", Action.DELETE: "deleted"}[self.action]
        text = f"{verb} {self.done} job(s)"
        if self.skipped:
            text += (
                f", skipped {len(self.skipped)} ({self.skipped[0][1]}{'…' if len(self.skipped) > 1 else ''})"
            )
        if self.aborted:
            text += f"; stopped: {self.aborted}"
        return text


class Dashboard:
    """The dashboard's reads and actions over one JobctlAPI. Thread-safe; one per app."""

    def __init__(
        self,
        api: JobctlAPI,
        *,
        clock: Callable[[], datetime] = utcnow,
        stale_after_s: float = RQ_WORKER_TTL_S,
    ) -> None:
        self.api = api
        self.clock = clock
        self.stale_after = timedelta(seconds=stale_after_s)
        # Backends builds its engine and client lazily (cached_property, no lock): serialise the
        # first touch so two threads never build two. One lock per backend: a database that
        # takes its connect timeout to fail must not hold up the Redis side, and vice versa.
        self._db_lock = threading.Lock()
        self._redis_lock = threading.Lock()

    @cached_property
    def _queries(self) -> DashboardQueries:
        with self._db_lock, self.api.backends.errors():
            return DashboardQueries(self.api.backends.engine)

    def _redis(self) -> Any:
        with self._redis_lock:
            return self.api.backends.redis

    # -- Redis -------------------------------------------------------------------------------

    def queue_activity(self) -> QueueActivity:
        from jobctl.queue.stats import known_queue_names, list_workers, queue_counts

        now = self.clock()
        with self.api.backends.errors():
            conn = self._redis()
            infos = list_workers(conn)
            workers = [self._worker_row(w, now) for w in infos]
            live = [w for w, row in zip(infos, workers, strict=True) if not row.stale]
            names = known_queue_names(conn, list(self.api.settings.queues))
            return QueueActivity(queue_counts(conn, names, live), workers, now)

    def progress_of(self, job_ids: list[str]) -> dict[str, JobProgress]:
        """The reported progress of those of `job_ids` that reported any (one round trip)."""
        from jobctl.queue.progress import read_progress_many

        with self.api.backends.errors():
            return read_progress_many(self._redis(), job_ids)

    def job_activity(self, job_id: str, *, last: int = 8) -> JobActivity:
        """One job's progress and last log lines (the detail page)."""
        from jobctl.queue.progress import read_activity

        with self.api.backends.errors():
            return read_activity(self._redis(), job_id, last=last)

    def _worker_row(self, w: Any, now: datetime) -> WorkerRow:
        beat = w.last_heartbeat
        stale = beat is None or now - beat > self.stale_after
        return WorkerRow(w.name, w.hostname, w.pid, tuple(w.queues), w.state, w.current_job_id, beat, stale)

    # -- SQL ---------------------------------------------------------------------------------

    def recent_activity(self, failures_seen_at: datetime) -> RecentActivity:
        now = self.clock()
        with self.api.backends.errors():
            q = self._queries
            buckets = q.finished_since(now - timedelta(hours=1))
            new_failures = q.count_failed_since(failures_seen_at, cap=FAILURE_BADGE_CAP)
            unhealthy = q.count_unhealthy_sources(cap=FAILURE_BADGE_CAP)
            reauth = q.count_reauth_accounts(cap=FAILURE_BADGE_CAP)
        return RecentActivity(buckets, new_failures, now, unhealthy, reauth)

    def jobs_page(
        self, search: JobSearch, *, limit: int, after: Cursor | None = None, newest_first: bool = True
    ) -> JobPage:
        with self.api.backends.errors():
            rows = self._queries.page(search, limit=limit + 1, after=after, newest_first=newest_first)
        return JobPage(rows[:limit], len(rows) > limit)

    def failed_groups(self, *, limit: int = 200) -> list[FailedGroup]:
        with self.api.backends.errors():
            return self._queries.failed_groups(limit=limit)

    def job(self, job_id: str) -> JobRecord:
        return self.api.get_job(job_id)

    def job_attempts(self, job_id: str) -> list[AttemptRecord]:
        """The open job's attempt timeline (the detail page polls it with the row)."""
        return self.api.job_attempts(job_id)

    def count(self, search: JobSearch) -> int:
        with self.api.backends.errors():
            return self._queries.count(search)

    def matching_ids(self, search: JobSearch) -> Iterator[str]:
        """Every id matching `search`, newest first, fetched _BULK_PAGE at a time."""
        after: Cursor | None = None
        while True:
            with self.api.backends.errors():
                page = self._queries.cursors(search, limit=_BULK_PAGE, after=after)
            yield from (cur.id for cur in page)
            if len(page) < _BULK_PAGE:
                return
            after = page[-1]

    # -- schedules (issue 5's ScheduleAPI, as `jobctl schedules` uses it) ---------------------

    @cached_property
    def _schedule_api(self) -> ScheduleAPI:
        return ScheduleAPI(self.api)

    def schedules(self) -> list[ScheduleView]:
        """Every schedule by name with its next runs as of the dashboard's clock."""
        now = self.clock()
        api = self._schedule_api
        with self.api.backends.errors():
            return [api.view(record, now) for record in api.repo.list()]

    def schedule_action(self, verb: str, name: str) -> str:
        """pause, resume or trigger one schedule; a line saying what happened."""
        api = self._schedule_api
        if verb == "pause":
            api.pause(name)
            return f"paused schedule {name}"
        if verb == "resume":
            api.resume(name)
            return f"resumed schedule {name} (missed ticks are not caught up)"
        if verb == "trigger":
            result = api.trigger(name)
            again = " (this second was already fired)" if result.deduplicated else ""
            return f"triggered schedule {name}: job {result.job.id}{again}"
        raise ValueError(f"unknown schedule action {verb!r}")

    # -- actions -----------------------------------------------------------------------------

    def act(self, action: Action, job_id: str) -> None:
        """One action on one job through JobctlAPI (the CLI's code path)."""
        if action is Action.RETRY:
            self.api.retry_job(job_id)
        elif action is Action.CANCEL:
            self.api.cancel_job(job_id)
        else:
            self.api.delete_job(job_id)

    def bulk(
        self,
        action: Action,
        ids: Iterator[str] | Sequence[str],
        *,
        progress: Callable[[int], None] | None = None,
        stop: threading.Event | None = None,
        audit: dict[str, Any] | None = None,
    ) -> BulkReport:
        """Apply `action` to each id; a job no longer in a suitable state is skipped, an outage
        stops the run (reported, never raised: part of the work may be done). With `audit` (the
        filter it ran on), one audit row records the run, as the CLI's bulk commands write."""
        report = BulkReport(action)
        try:
            self._bulk(report, ids, progress, stop)
        finally:
            if audit is not None:
                self._audit(report, audit)
        return report

    def _audit(self, report: BulkReport, audit: dict[str, Any]) -> None:
        from jobctl.api.bulk import BulkAPI, current_actor
        from jobctl.domain.audit import NewAuditEntry

        detail = {"skipped": len(report.skipped), "aborted": report.aborted, "via": "top"}
        entry = NewAuditEntry(current_actor(), f"jobs.{report.action.value}", audit, report.done, detail)
        try:
            BulkAPI(self.api).record(entry)
        except BackendUnavailableError as exc:  # the database went away: say so with the rest
            report.aborted = report.aborted or f"audit row not written: {exc.message}"

    def _bulk(
        self,
        report: BulkReport,
        ids: Iterator[str] | Sequence[str],
        progress: Callable[[int], None] | None,
        stop: threading.Event | None,
    ) -> None:
        action = report.action
        try:
            for n, job_id in enumerate(ids, 1):
                if stop is not None and stop.is_set():
                    report.aborted = "stopped by the operator"
                    break
                try:
                    self.act(action, job_id)
                    report.done += 1
                except (InvalidTransitionError, JobNotFoundError) as exc:
                    report.skipped.append((job_id, exc.message))
                if progress is not None and n % 50 == 0:
                    progress(n)
        except BackendUnavailableError as exc:
            report.aborted = exc.message


def queue_rows(
    configured: Sequence[str], activity: QueueActivity | None, recent: RecentActivity | None, now: datetime
) -> list[QueueRow]:
    """Join Redis counts and SQL history per queue; a side that is unavailable shows None."""
    names = list(configured)
    names += [q.name for q in activity.counts if q.name not in names] if activity else []
    by_queue: dict[str, dict[JobStatus, int]] = {}
    minutes: dict[str, dict[int, int]] = {}
    current = int(now.timestamp() // 60)
    for b in recent.buckets if recent else []:
        if b.queue not in names:
            names.append(b.queue)
        per = by_queue.setdefault(b.queue, {})
        per[b.status] = per.get(b.status, 0) + b.count
        series = minutes.setdefault(b.queue, {})
        series[b.minute] = series.get(b.minute, 0) + b.count
    counts = {q.name: q for q in activity.counts} if activity else {}
    rows = []
    for name in names:
        rq = counts.get(name)
        done = by_queue.get(name, {})
        series = minutes.get(name, {})
        rows.append(
            QueueRow(
                name=name,
                queued=rq.queued if rq else None,
                running=rq.running if rq else None,
                scheduled=rq.scheduled if rq else None,
                failed=rq.failed if rq else None,
                workers=rq.workers if rq else None,
                completed_1h=done.get(JobStatus.COMPLETED, 0) if recent else None,
                failed_1h=done.get(JobStatus.FAILED, 0) if recent else None,
                throughput=tuple(
                    series.get(m, 0) for m in range(current - THROUGHPUT_MINUTES + 1, current + 1)
                ),
                paused=bool(rq is not None and rq.paused is not None),
            )
        )
    return rows
