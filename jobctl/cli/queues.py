"""`jobctl queues`: per queue the queued, running, scheduled, failed, completed counts; workers."""

from __future__ import annotations

from typing import Annotated

import typer

from jobctl.cli.context import STATE
from jobctl.cli.output import age, print_json, table


def register(app: typer.Typer) -> None:
    app.command("queues")(queues)


def queues(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Counts per queue (from RQ's registries, as `rq info` shows them) and the workers."""
    overview = STATE.api.queue_overview()
    if as_json:
        print_json(overview.to_json())
        return
    table(
        "queues",
        ["QUEUE", "QUEUED", "RUNNING", "SCHEDULED", "FAILED", "COMPLETED", "CANCELLED", "WORKERS"],
        [
            (
                q.name,
                q.queued,
                q.running,
                q.scheduled,
                q.failed,
                q.completed,
                q.cancelled,
                q.workers if q.workers or not (q.queued or q.scheduled) else "0 (none listening!)",
            )
            for q in overview.queues
        ],
    )
    if overview.workers:
        table(
            "workers",
            ["NAME", "HOST", "PID", "QUEUES", "STATE", "JOB", "HEARTBEAT"],
            [
                (
                    w.name,
                    w.hostname,
                    w.pid,
                    ",".join(w.queues),
                    w.state,
                    w.current_job_id or "-",
                    age(w.last_heartbeat),
                )
                for w in overview.workers
            ],
        )
