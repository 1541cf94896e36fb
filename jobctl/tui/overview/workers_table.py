"""Workers as RQ registers them: name, host, pid, queues, state, current job, heartbeat age.

A worker whose last heartbeat is older than RQ itself allows between two beats of a live
worker is flagged STALE: it died without unregistering and only looks present.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from jobctl.api.dashboard import WorkerRow
from jobctl.tui.format import age, bad
from jobctl.tui.keyed_table import KeyedTable, Row


class WorkersTable(KeyedTable):
    COLUMNS = (
        ("name", "NAME"),
        ("host", "HOST"),
        ("pid", "PID"),
        ("queues", "QUEUES"),
        ("state", "STATE"),
        ("used", "USED"),
        ("job", "CURRENT JOB"),
        ("beat", "HEARTBEAT"),
    )

    def show(self, workers: list[WorkerRow], now: datetime) -> None:
        theme = self.app.current_theme
        rows: list[Row] = []
        for w in workers:
            beat: str | Text = age(w.last_heartbeat, now)
            if w.stale:
                beat = bad(f"{beat} STALE", theme)
            rows.append(
                (
                    w.name,
                    [
                        w.name,
                        w.hostname or "-",
                        str(w.pid or "-"),
                        ",".join(w.queues),
                        w.state,
                        "1/1" if w.current_job_id else "0/1",  # an RQ worker runs one job at a time
                        w.current_job_id or "-",
                        beat,
                    ],
                )
            )
        self.fill(rows)
