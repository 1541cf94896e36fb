"""Workers as RQ registers them: name, host, pid, queues, state, current job, heartbeat age.

A worker whose last heartbeat is older than RQ itself allows between two beats of a live
worker is flagged STALE: it died without unregistering and only looks present.
"""

from __future__ import annotations

from datetime import datetime

from jobctl.api.dashboard import WorkerRow
from jobctl.tui.format import age, bad, cell
from jobctl.tui.keyed_table import KeyedTable, Row


class WorkersTable(KeyedTable):
    COLUMNS = (
        ("name", "NAME"),
        ("state", "STATE"),
        ("beat", "HEARTBEAT"),
        ("job", "CURRENT JOB"),
        ("used", "USED"),
        ("queues", "QUEUES"),
        ("host", "HOST"),
        ("pid", "PID"),
    )

    def show(self, workers: list[WorkerRow], now: datetime) -> None:
        theme = self.app.current_theme
        rows: list[Row] = []
        for w in workers:
            beat = age(w.last_heartbeat, now)
            if w.stale:
                beat = bad(f"{beat} STALE", theme)
            rows.append(
                (
                    w.name,
                    [
                        cell(w.name),
                        cell(w.state),
                        beat,
                        cell(w.current_job_id or "-"),
                        "1/1" if w.current_job_id else "0/1",  # an RQ worker runs one job at a time
                        cell(",".join(w.queues)),
                        cell(w.hostname or "-"),
                        str(w.pid or "-"),
                    ],
                )
            )
        self.fill(rows)
