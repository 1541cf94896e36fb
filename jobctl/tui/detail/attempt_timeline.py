"""The attempt timeline on a job's detail page: one line per execution of the job.

Each line: attempt number, worker, start (and how long ago), duration (so far, for the one
running), how it ended, and its error on one line (the last error's traceback is on the page
below). Colours come from top.tcss through component classes (`timeline--good`, …), so a theme
or an operator's stylesheet can change them; the widget only says which class an outcome is.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from jobctl.domain.attempts import AttemptOutcome as O
from jobctl.domain.attempts import AttemptRecord
from jobctl.tui.format import age, span

_CLASS: dict[str, str] = {
    O.COMPLETED: "good",
    O.FAILED: "bad",
    O.RETRY_SCHEDULED: "warn",
    O.LOST: "bad",
    O.HUNG: "bad",
    O.LATE_FINISH_REJECTED: "warn",
    O.CANCELLED: "muted",
    O.HANDED_BACK: "muted",
    O.DEFERRED: "muted",  # asked to wait (rate limit): no retry spent, not a failure
}
_STAMP = "%Y-%m-%d %H:%M:%S"


class AttemptTimeline(Static):
    """Every attempt of the open job, first first. `show` redraws it from a poll's result."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "timeline--title",
        "timeline--header",
        "timeline--good",
        "timeline--bad",
        "timeline--warn",
        "timeline--muted",
        "timeline--running",
        "timeline--error",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.attempts: tuple[AttemptRecord, ...] = ()

    def show(self, attempts: Sequence[AttemptRecord], now: datetime) -> None:
        self.attempts = tuple(attempts)
        self.update(self._render_table(now))

    def outcome_class(self, attempt: AttemptRecord) -> str:
        """The component class the attempt's outcome is drawn in."""
        if attempt.outcome is None:
            return "timeline--running"
        return f"timeline--{_CLASS.get(attempt.outcome, 'muted')}"  # an unknown outcome: muted

    def _render_table(self, now: datetime) -> Table | Text:
        def style(name: str) -> Any:  # the class alone, not the widget background baked in
            return self.get_component_rich_style(name, partial=True)

        title = Text("ATTEMPTS", style=style("timeline--title"))
        if not self.attempts:
            return title.append("\n  no attempt yet", style=style("timeline--muted"))
        table = Table(
            title=title, title_justify="left", box=None, expand=True, pad_edge=False,
            header_style=style("timeline--header"), show_edge=False,
        )  # fmt: skip
        table.add_column("#", justify="right", no_wrap=True)
        table.add_column("WORKER", no_wrap=True, overflow="ellipsis", max_width=24)
        table.add_column("STARTED", no_wrap=True)
        table.add_column("TOOK", justify="right", no_wrap=True)
        table.add_column("OUTCOME", no_wrap=True)
        table.add_column("ERROR", no_wrap=True, overflow="ellipsis", ratio=1)
        for a in self.attempts:
            outcome = "running" if a.outcome is None else str(a.outcome)
            started = f"{a.started_at.strftime(_STAMP)}Z ({age(a.started_at, now)} ago)"
            table.add_row(
                str(a.attempt),
                a.worker or "-",
                started,
                _took(a, now),
                Text(outcome, style=style(self.outcome_class(a))),
                Text(a.error_line, style=style("timeline--error")),
            )
        return table


def _took(a: AttemptRecord, now: datetime) -> str:
    if a.duration_ms is not None:
        seconds = a.duration_ms / 1000
        return f"{seconds:.2f}s" if seconds < 60 else span(seconds)
    if a.outcome is None:  # running: so far
        seconds = (now - a.started_at).total_seconds()
        return (f"{seconds:.1f}s" if seconds < 60 else span(seconds)) + "…"
    return "-"
