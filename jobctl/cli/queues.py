"""`jobctl queues [list] [--json]`: per queue the queued, running, scheduled, failed, completed
counts, whether it is paused; workers. `jobctl queues pause|resume Q`: per-queue pause."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from jobctl.cli.context import STATE
from jobctl.cli.output import age, print_json, table

if TYPE_CHECKING:
    from jobctl.queue.pause import PauseInfo

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]

app = typer.Typer(
    help="Queue counts and workers (the default); pause or resume one queue.",
    invoke_without_command=True,
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="queues")


@app.callback()
def queues(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Counts per queue (from RQ's registries, as `rq info` shows them), pauses, and the workers."""
    if ctx.invoked_subcommand is None:
        show(as_json)


@app.command("list")
def list_queues(as_json: JsonOption = False) -> None:
    """Counts per queue, pauses and workers (the same as `jobctl queues`)."""
    show(as_json)


def show(as_json: bool) -> None:
    overview = STATE.api.queue_overview()
    if as_json:
        print_json(overview.to_json())
        return
    table(
        "queues",
        ["QUEUE", "QUEUED", "RUNNING", "SCHEDULED", "FAILED", "COMPLETED", "CANCELLED", "WORKERS", "PAUSED"],
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
                _paused(q.paused),
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


def _paused(info: PauseInfo | None) -> str:
    if info is None:
        return "-"
    since = f" {age(info.at)} ago" if info.at else ""
    return f"PAUSED{since}" + (f" by {info.by}" if info.by else "")


@app.command("pause")
def pause(
    queue: Annotated[str, typer.Argument(metavar="QUEUE", help="The queue to stop consuming.")],
    as_json: JsonOption = False,
) -> None:
    """Stop workers taking jobs from QUEUE (within ~0.5 s; running jobs finish; enqueues still land)."""
    from jobctl.api.queues import pause_queue

    change = pause_queue(STATE.api, queue)
    if as_json:
        print_json(change.to_json())
        return
    if change.changed:
        sys.stdout.write(f"paused {queue}: workers take no new jobs from it until `jobctl queues resume`\n")
    else:
        info = change.info
        who = f" by {info.by}" if info and info.by else ""
        since = f" since {info.at.isoformat(timespec='seconds')}" if info and info.at else ""
        sys.stdout.write(f"{queue} was already paused{who}{since}\n")


@app.command("resume")
def resume(
    queue: Annotated[str, typer.Argument(metavar="QUEUE", help="The paused queue to consume again.")],
    as_json: JsonOption = False,
) -> None:
    """Let workers take jobs from QUEUE again (within ~0.5 s)."""
    from jobctl.api.queues import resume_queue

    change = resume_queue(STATE.api, queue)
    if as_json:
        print_json(change.to_json())
        return
    sys.stdout.write(f"resumed {queue}\n" if change.changed else f"{queue} was not paused\n")
