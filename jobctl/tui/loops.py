"""The app's two polling loops (Redis, SQL) and what they draw; part of TopApp.

Each loop runs one poll at a time in a thread worker and arms its next poll only when the
last one has finished (as dolphie does), so a slow backend slows its own loop instead of
piling up requests. Navigation asks for fresh data at once (`refresh_view`); a result that
answers an older request (the filter changed meanwhile) is dropped and fetched again.
Failures keep the last good data on screen and show the outage banner; the loops go on, so
the banner goes away by itself when the backend is back.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from textual.app import App
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from jobctl.api.dashboard import FailedGroup, QueueActivity, RecentActivity, queue_rows
from jobctl.tui.chrome.outage_banner import OutageBanner
from jobctl.tui.chrome.top_bar import TopBar
from jobctl.tui.detail.job_detail_screen import JobDetailScreen
from jobctl.tui.failed.failed_view import FailedView
from jobctl.tui.format import span
from jobctl.tui.jobs.jobs_view import PAGE_SIZE, JobsView
from jobctl.tui.overview.overview_view import OverviewView
from jobctl.tui.poller import DUTY, Backend, Cadence, Outcome, SqlRequest, SqlResult, fetch_redis, fetch_sql
from jobctl.tui.schedules.schedules_view import SchedulesView
from jobctl.tui.workers.workers_view import WorkersView

if TYPE_CHECKING:
    from jobctl.api.dashboard import Dashboard
    from jobctl.tui.seen import FailuresSeen

LOOPS = ("redis", "sql")
BACKEND_OF = {"redis": Backend.REDIS, "sql": Backend.DATABASE}
HUNG_AFTER_S = 5.0  # a poll still waiting this long (and 5 intervals) is reported as an outage


class Loops(App[None]):
    dash: Dashboard
    interval: float
    view: str
    seen: FailuresSeen
    # The main screen's widgets, kept by TopApp: App.query_one searches the active screen,
    # which is not the main one while a job's detail or a dialog is open.
    top_bar: TopBar
    banner: OutageBanner
    overview_view: OverviewView
    jobs_view: JobsView
    failed_view: FailedView
    workers_view: WorkersView
    schedules_view: SchedulesView

    def init_loops(self) -> None:
        self.frozen = False
        self.refreshed_at: datetime | None = None
        self.activity: QueueActivity | None = None
        self.recent: RecentActivity | None = None
        self.groups: list[FailedGroup] | None = None
        self.outages: dict[Backend, str] = {}
        self.outage_since: dict[Backend, datetime] = {}
        self.last_good: dict[Backend, datetime] = {}
        self.recent_cadence = Cadence(self.interval)
        self.polls = 0  # completed polls of either loop (tests wait on it)
        self._generation = 0
        self._loop_busy = dict.fromkeys(LOOPS, False)
        self._loop_started = dict.fromkeys(LOOPS, 0.0)
        self._loop_timers: dict[str, Timer | None] = dict.fromkeys(LOOPS)
        self._dirty = False

    if TYPE_CHECKING:  # provided by TopApp and ActionFlow

        def show_state(self) -> None: ...
        def now(self) -> datetime: ...
        def on_action_error(self, worker: Worker[object]) -> None: ...

    # -- starting and arming -------------------------------------------------------------------

    def start_loops(self) -> None:
        self.poll_redis()
        self.refresh_view()

    def watch_hung_polls(self) -> None:
        """A backend that stops answering without an error (a network partition, a paused
        server) leaves its poll waiting: say so in the banner instead of looking merely idle."""
        now = time.monotonic()
        for name in LOOPS:
            waited = now - self._loop_started[name]
            if self._loop_busy[name] and waited > max(HUNG_AFTER_S, 5 * self.interval):
                backend = BACKEND_OF[name]
                message = f"no answer for {span(waited)} (the last request is still waiting)"
                self._note(Outcome(errors={backend: message}))

    def set_frozen(self, frozen: bool) -> None:
        self.frozen = frozen
        if frozen:
            for name in LOOPS:
                self._cancel(name)
        else:
            self.start_loops()

    def poll_redis(self) -> None:
        if self._loop_busy["redis"] or not self.screen_stack:  # busy, or shutting down
            return
        self._cancel("redis")
        self._loop_busy["redis"] = True
        self._loop_started["redis"] = time.monotonic()
        self.run_worker(partial(fetch_redis, self.dash), thread=True, group="redis", exit_on_error=False)

    def refresh_view(self) -> None:
        """Fetch what the current view shows now (after a view, filter or page change)."""
        self._generation += 1
        if self._loop_busy["sql"]:
            self._dirty = True
            return
        self._poll_sql()

    def _poll_sql(self) -> None:
        if not self.screen_stack:  # shutting down
            return
        self._cancel("sql")
        self._dirty = False
        self._loop_busy["sql"] = True
        self._loop_started["sql"] = time.monotonic()
        request = self._sql_request()
        self.run_worker(partial(fetch_sql, self.dash, request), thread=True, group="sql", exit_on_error=False)

    def _sql_request(self) -> SqlRequest:
        jobs = self.jobs_view
        detail = self.screen if isinstance(self.screen, JobDetailScreen) else None
        on_main = detail is None
        return SqlRequest(
            generation=self._generation,
            recent_since=self.seen.at if self.recent_cadence.due() else None,
            search=jobs.search if on_main and self.view == "jobs" else None,
            after=jobs.after,
            newest_first=jobs.newest_first,
            page_size=PAGE_SIZE,
            groups=on_main and self.view == "failed",
            schedules=on_main and self.view == "schedules",
            detail_id=detail.job_id if detail else None,
        )

    @property
    def settled(self) -> bool:
        """No poll running or asked for (tests wait for this before they look)."""
        return not any(self._loop_busy.values()) and not self._dirty

    def _cancel(self, name: str) -> None:
        timer = self._loop_timers[name]
        if timer is not None:
            timer.stop()
            self._loop_timers[name] = None

    def _arm(self, name: str, delay: float) -> None:
        self._cancel(name)
        if not self.frozen:
            start = self.poll_redis if name == "redis" else self._poll_sql
            self._loop_timers[name] = self.set_timer(delay, start)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        if worker.group == "action":
            if event.state == WorkerState.ERROR:
                self.on_action_error(worker)
            return
        if worker.group not in LOOPS or not self.is_running:
            return
        self._loop_busy[worker.group] = False
        self.polls += 1
        delay = self.interval
        if event.state == WorkerState.SUCCESS and worker.group == "redis":
            outcome, activity = worker.result  # type: ignore[misc]
            self._apply_redis(outcome, activity)
        elif event.state == WorkerState.SUCCESS:
            result: SqlResult = worker.result  # type: ignore[assignment]
            delay = self._apply_sql(result)
        elif event.state == WorkerState.ERROR:  # a bug, not an outage: say so, keep polling
            self.notify(f"refresh failed: {worker.error!r}", severity="error", timeout=10)
        if worker.group == "sql" and self._dirty:
            self._poll_sql()
        else:
            self._arm(worker.group, delay)

    # -- applying results ----------------------------------------------------------------------

    def _apply_redis(self, outcome: Outcome, activity: QueueActivity | None) -> None:
        if activity is not None:
            self.activity = activity
            self.refreshed_at = activity.taken_at
        self._note(outcome)
        self.redraw()
        self.show_state()

    def _apply_sql(self, result: SqlResult) -> float:
        """Draw what came back; the delay before the next SQL poll."""
        now = self.now()
        req = result.request
        if result.recent_took is not None:
            self.recent_cadence.ran(result.started, result.recent_took)
        if result.recent is not None:
            self.recent = result.recent
        self._note(result.outcome)
        if req.generation == self._generation:
            self._draw_view(result, now)
        self.redraw()
        delay = max(self.interval, DUTY * result.view_took)
        jobs = self.jobs_view
        jobs.slow_note = f"slow filter: refresh every {span(delay)}" if delay >= 2 * self.interval else ""
        return delay

    def _draw_view(self, result: SqlResult, now: datetime) -> None:
        if result.page is not None:
            if result.progress is not None:  # None: Redis did not answer; keep the last figures
                self.jobs_view.progress = result.progress
            self.jobs_view.show(result.page, now)
        if result.groups is not None:
            self.groups = result.groups
            self.failed_view.show(result.groups, now)
        if result.schedules is not None:
            self.schedules_view.show(result.schedules, now)
        screen = self.screen
        if isinstance(screen, JobDetailScreen) and screen.job_id == result.request.detail_id:
            screen.show(result.detail, now, missing=result.detail_missing, attempts=result.detail_attempts)
            screen.show_activity(result.activity)

    def _note(self, outcome: Outcome) -> None:
        now = self.now()
        for backend in outcome.reached:
            self.outages.pop(backend, None)
            self.outage_since.pop(backend, None)
            self.last_good[backend] = now
        for backend, message in outcome.errors.items():
            self.outages[backend] = message
            self.outage_since.setdefault(backend, now)
        oldest = min((self.last_good[b] for b in self.outages if b in self.last_good), default=None)
        self.banner.show(self.outages, self.outage_since, oldest)

    def forget_failures(self) -> None:
        """The operator is looking at the failures: the badge drops at once, the SQL poll confirms."""
        if self.recent is not None:
            self.recent = replace(self.recent, new_failures=0)
        self.recent_cadence.reset()

    def redraw(self) -> None:
        """Redraw the overview, workers and badge from the last data (cheap, no I/O)."""
        now = self.now()
        rows = queue_rows(list(self.dash.api.settings.queues), self.activity, self.recent, now)
        workers = self.activity.workers if self.activity else None
        unhealthy = self.recent.unhealthy_sources if self.recent else None
        reauth = self.recent.reauth_accounts if self.recent else None
        self.overview_view.show(rows, workers, now, unhealthy, reauth)
        if workers is not None:
            self.workers_view.show(workers, now)
        self.top_bar.show_failures(self.recent.new_failures if self.recent else None)
