"""Per queue: waiting, running, retrying/scheduled and failed (RQ's registries, O(1) each),
finished in the last hour and a 15-minute throughput sparkline (SQL, one bounded range)."""

from __future__ import annotations

from jobctl.api.dashboard import QueueRow
from jobctl.tui.format import cell, count, sparkline, warn
from jobctl.tui.keyed_table import KeyedTable, Row


class QueuesTable(KeyedTable):
    COLUMNS = (
        ("queue", "QUEUE"),
        ("queued", "WAIT"),
        ("running", "RUN"),
        ("scheduled", "SCHED"),
        ("failed", "FAIL"),
        ("done", "DONE/1h"),
        ("workers", "WRK"),
        ("spark", "LAST 15 MIN"),
    )

    def show(self, rows: list[QueueRow]) -> None:
        theme = self.app.current_theme
        out: list[Row] = []
        for q in rows:
            workers = count(q.workers)
            if q.unattended:
                workers = warn(f"{q.workers} !", theme)
            failed = cell(count(q.failed), theme.error or "") if q.failed else count(q.failed)
            out.append(
                (
                    q.name,
                    [
                        warn(f"{q.name} PAUSED", theme) if q.paused else cell(q.name),
                        count(q.queued),
                        count(q.running),
                        count(q.scheduled),
                        failed,
                        count(q.completed_1h),
                        workers,
                        sparkline(q.throughput) if q.completed_1h is not None else "?",
                    ],
                )
            )
        self.fill(out)
