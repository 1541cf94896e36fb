"""Retry, cancel, delete from the dashboard; part of TopApp.

Count (thread) -> confirmation stating the count (modal) -> carry out (thread, through
JobctlAPI job by job, with progress in the top bar) -> a summary notification and fresh
data. One action runs at a time; `--readonly` refuses them all before anything is counted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from textual.app import App
from textual.worker import Worker

from jobctl.api.dashboard import Action, BulkReport
from jobctl.domain.errors import BackendUnavailableError
from jobctl.domain.records import JobRecord
from jobctl.tui.actions import VERB, Target, carry_out, confirmation
from jobctl.tui.detail.job_detail_screen import JobDetailScreen
from jobctl.tui.modals.confirm_screen import ConfirmScreen

if TYPE_CHECKING:
    from datetime import datetime

    from jobctl.api.dashboard import Dashboard

Done = Callable[[], None] | None


@dataclass(frozen=True)
class _Request:
    action: Action
    target: Target  # as the operator chose it
    bounded: Target  # what the action applies to (see Target.bounded)
    skipped: int  # marked jobs left out because of their status
    after: Done  # run on the UI thread when done (e.g. clear the marks)


class ActionFlow(App[None]):
    dash: Dashboard
    readonly: bool

    if TYPE_CHECKING:  # provided by TopApp and Loops

        def now(self) -> datetime: ...
        def refresh_view(self) -> None: ...
        def poll_redis(self) -> None: ...
        def show_state(self) -> None: ...

    def init_actions(self) -> None:
        self.action_running: str | None = None  # "retry 120/5,000" while one runs
        self.stop_action = threading.Event()

    def request_job_action(self, action: Action, job: JobRecord) -> None:
        self.request_action(action, Target(f"job {job.id} ({job.status.value})", ids=((job.id, job.status),)))

    def request_action(self, action: Action, target: Target, *, after: Done = None) -> None:
        if self.readonly:
            self.notify("read-only dashboard (--readonly): actions are disabled", severity="warning")
            return
        if self.action_running:
            self.notify(f"wait: {self.action_running} is still running", severity="warning")
            return
        bounded = target.bounded(action, self.now())
        request = _Request(action, target, bounded, len(target.ids) - len(bounded.ids), after)
        self.run_worker(partial(self._count, request), thread=True, group="action", exit_on_error=False)

    def _count(self, request: _Request) -> None:
        try:
            n = request.bounded.count(self.dash)
        except BackendUnavailableError as exc:
            self.call_from_thread(self.notify, f"cannot {request.action}: {exc.message}", severity="error")
            return
        self.call_from_thread(self._confirm, request, n)

    def _confirm(self, request: _Request, n: int) -> None:
        action = request.action
        if n == 0:
            applies = "/".join(s.value for s in action.applies_to)
            what = request.target.description
            self.notify(f"nothing to {action}: {what} has no {applies} job", severity="warning")
            return
        title, body = confirmation(action, request.target, n, request.skipped)

        def answered(yes: bool | None) -> None:
            if yes:
                self._carry_out(request, n)

        danger = action is not Action.RETRY
        self.push_screen(ConfirmScreen(title, body, VERB[action], danger=danger), answered)

    def _carry_out(self, request: _Request, n: int) -> None:
        self.action_running = f"{request.action} 0/{n:,}"
        self.show_state()
        self.stop_action.clear()
        self.run_worker(partial(self._run, request, n), thread=True, group="action", exit_on_error=False)

    def _run(self, request: _Request, n: int) -> None:
        action = request.action

        def progress(done: int) -> None:
            self.call_from_thread(self._progress, f"{action} {done:,}/{n:,}")

        report = carry_out(self.dash, action, request.bounded, progress=progress, stop=self.stop_action)
        self.call_from_thread(self._finished, report, request.after)

    def _progress(self, text: str) -> None:
        self.action_running = text
        self.show_state()

    def _finished(self, report: BulkReport, after: Done) -> None:
        self.action_running = None
        self.show_state()
        trouble = report.skipped or report.aborted
        self.notify(report.summary(), severity="warning" if trouble else "information", timeout=8)
        if after is not None:
            after()
        screen = self.screen
        if isinstance(screen, JobDetailScreen) and report.action is Action.DELETE and report.done:
            self.pop_screen()
        self.refresh_view()
        self.poll_redis()

    def on_action_error(self, worker: Worker[object]) -> None:
        """An unexpected exception in an action's thread (a bug): report it, allow the next one."""
        self.action_running = None
        self.notify(f"action failed: {worker.error!r}", severity="error", timeout=10)
