"""A job's detail page, refreshed by the view loop while it is open; `y` shows the raw row.

The row's summary first, then every attempt on record (AttemptTimeline: worker, start,
duration, outcome, error), then payload, result and the last error with its traceback.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Label, Static

from jobctl.api.dashboard import Action
from jobctl.domain.attempts import AttemptRecord, JobDetail
from jobctl.domain.progress import JobActivity
from jobctl.domain.records import JobRecord
from jobctl.tui.detail.attempt_timeline import AttemptTimeline
from jobctl.tui.detail.content_links import content_links
from jobctl.tui.detail.progress_panel import ProgressPanel
from jobctl.tui.format import age, duration, status_style

if TYPE_CHECKING:
    from jobctl.tui.app import TopApp

_STAMP = "%Y-%m-%d %H:%M:%S"


class JobDetailScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("y", "raw", "Raw JSON"),
        Binding("r", "act('retry')", "Retry"),
        Binding("c", "act('cancel')", "Cancel"),
        Binding("d", "act('delete')", "Delete"),
    ]

    def __init__(self, job_id: str) -> None:
        super().__init__()
        self.job_id = job_id
        self.record: JobRecord | None = None
        self.attempts: tuple[AttemptRecord, ...] = ()
        self.raw = False

    def compose(self) -> ComposeResult:
        yield Label(f"job {self.job_id}", id="detail-title", markup=False)
        with VerticalScroll(id="detail-body"):
            yield Static("loading…", id="detail-head", markup=False)
            yield ProgressPanel(id="detail-progress")
            yield AttemptTimeline(id="detail-timeline")
            yield Static("", id="detail-content", markup=False)
        yield Footer(compact=True)

    @property
    def top(self) -> TopApp:
        return cast("TopApp", self.app)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action == "act" and self.top.readonly)

    def show(
        self,
        record: JobRecord | None,
        now: datetime,
        *,
        missing: bool = False,
        attempts: tuple[AttemptRecord, ...] | None = None,
    ) -> None:
        """Draw the row and its timeline (`attempts` None: the poll did not get them; keep
        the last ones)."""
        head = self.query_one("#detail-head", Static)
        timeline = self.query_one(AttemptTimeline)
        content = self.query_one("#detail-content", Static)
        if missing:
            head.update(Text(f"job {self.job_id} no longer exists (deleted).", style="bold"))
            timeline.display = content.display = False
            self.record = None
            return
        if record is None:
            return
        self.record = record
        if attempts is not None:
            self.attempts = attempts
        timeline.display, content.display = not self.raw, True
        if self.raw:
            head.update(_raw(JobDetail(record, self.attempts)))
            content.update("")
            return
        theme = self.app.current_theme
        head.update(_head(record, theme))
        timeline.show(self.attempts, now)
        content.update(_describe(record, now, theme))

    def show_activity(self, activity: JobActivity | None) -> None:
        """The job's reported progress and last lines (read from Redis with the row)."""
        attempts = self.record.attempts if self.record is not None else 0
        self.query_one(ProgressPanel).show(activity, attempts)

    def action_raw(self) -> None:
        self.raw = not self.raw
        if self.record is not None:
            self.show(self.record, self.top.now())

    def action_act(self, action: str) -> None:
        if self.record is not None:
            self.top.request_job_action(Action(action), self.record)


def _raw(detail: JobDetail) -> Text:
    return Text(json.dumps(detail.to_json(), indent=2, ensure_ascii=False, default=str))


def _head(r: JobRecord, theme: Any) -> Text:
    t = Text()
    t.append("status     ").append(r.status.value, style=status_style(r.status, theme))
    t.append(f"   attempts {r.attempts}/{r.max_attempts}\n")
    t.append(f"type       {r.type}   queue {r.queue}   org {r.organization_id or '-'}\n")
    if r.schedule_id:
        t.append(f"schedule   {r.schedule_id}\n")
    t.rstrip()  # the timeline's margin separates them
    return t


def _describe(r: JobRecord, now: datetime, theme: Any) -> Text:
    t = Text()
    t.append("TIMES\n", style="bold")
    t.append(_line("created", r.created_at, now))
    if r.scheduled_for:
        t.append(_line("due", r.scheduled_for, now))
    if r.finished_at:
        took = duration(r.started_at, r.finished_at, now)
        t.append(_line(r.status.value.lower(), r.finished_at, now, f" after {took}"))
    elif r.next_attempt_at:
        t.append(_line("next attempt", r.next_attempt_at, now))
    t.append("\nPAYLOAD\n", style="bold").append(_json(r.payload) + "\n")
    if (links := content_links(r.type, r.result)) is not None:
        t.append(links)  # the items a content job made, before the raw result
    if r.result is not None:
        t.append("\nRESULT\n", style="bold").append(_json(r.result) + "\n")
    if r.error is not None:
        t.append("\nERROR\n", style="bold")
        t.append(f"{r.error.type}: {r.error.message}\n", style=f"bold {theme.error}")
        if r.error.traceback:
            t.append(r.error.traceback.rstrip() + "\n", style="dim")
    return t


def _line(label: str, when: datetime, now: datetime, extra: str = "") -> str:
    return (
        f"  {label:<16} {when.strftime(_STAMP)}Z  ({age(when, now)}{' ago' if when <= now else ''}){extra}\n"
    )


def _json(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)
