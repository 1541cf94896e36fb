"""`:workers`: the workers table on its own page, with a legend for the stale flag."""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label

from jobctl.api.dashboard import WorkerRow
from jobctl.tui.format import span
from jobctl.tui.overview.workers_table import WorkersTable


class WorkersView(Vertical):
    def __init__(self, stale_after_s: float, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.stale_after_s = stale_after_s

    def compose(self) -> ComposeResult:
        yield Label("WORKERS", id="workers-title", classes="section")
        yield WorkersTable(id="workers-table")

    def show(self, workers: list[WorkerRow], now: datetime) -> None:
        stale = sum(1 for w in workers if w.stale)
        self.query_one("#workers-title", Label).update(
            f"WORKERS {len(workers)}, {stale} stale (no heartbeat for over {span(self.stale_after_s)})"
        )
        self.query_one(WorkersTable).show(workers, now)
