"""`jobctl jobs logs ID [-f]`, and the progress part of `jobctl jobs show`.

What a job reported through `ctx.progress()` / `ctx.log()` lives in Redis (jobctl.queue.progress),
kept for `[jobs] log_ttl_seconds` and trimmed to the last `log_max_lines` / `log_max_bytes`.
Following polls for lines newer than the last one printed and stops once the job is final: the
worker sends a job's last lines before its row turns final, so nothing is missed at the end.
"""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Annotated

import typer

from jobctl.cli.context import STATE
from jobctl.cli.output import info
from jobctl.domain.errors import JobctlError

if TYPE_CHECKING:
    from jobctl.domain.progress import JobActivity, LogLine
    from jobctl.domain.records import JobRecord

SHOW_LINES = 10  # last lines `jobs show` prints (and its --json includes)
FOLLOW_POLL_S = 0.5


def register(app: typer.Typer) -> None:
    app.command("logs")(logs)


def logs(
    job_id: Annotated[str, typer.Argument(metavar="ID")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines until the job finishes.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """A job's log lines (ctx.log), oldest first: the newest [jobs] log_max_lines / log_max_bytes are kept."""
    api = STATE.api
    job = api.get_job(job_id)  # unknown id: a clear error, not an empty listing
    after, first = 0, True
    while True:
        activity = api.job_activity(job_id, last=None, after_seq=after)
        if first and activity.dropped_before and not as_json:
            kept = f"{activity.lines_total - activity.dropped_before} kept" if activity.lines else "none kept"
            info(f"({activity.dropped_before} earlier line(s) not kept: {kept} of {activity.lines_total})")
        elif not first and activity.lines and activity.lines[0].seq > after + 1 and not as_json:
            info(f"({activity.lines[0].seq - after - 1} line(s) logged meanwhile were not kept)")
        if first and not activity.lines_total and not as_json and not follow:
            info(f"job {job_id} has logged no lines")
        first = False
        for line in activity.lines:
            _print_line(line, as_json)
        if activity.lines:
            after = activity.lines[-1].seq
        if not follow or job.status.is_final:  # final was seen before this read: it has every line
            return
        time.sleep(FOLLOW_POLL_S)
        job = api.get_job(job_id)


def _print_line(line: LogLine, as_json: bool) -> None:
    text = json.dumps(line.to_json(), default=str, ensure_ascii=False) if as_json else line.describe()
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def activity_or_none(job_id: str) -> JobActivity | None:
    """`jobs show`'s progress and last lines; None (with a note) when Redis cannot be read, so
    the row, which lives in SQL, is still shown."""
    try:
        return STATE.api.job_activity(job_id, last=SHOW_LINES)
    except JobctlError as exc:
        info(f"progress and log lines unavailable: {exc.message}")
        return None


def activity_json(activity: JobActivity | None) -> dict[str, object]:
    if activity is None:
        return {"progress": None, "logs": None, "log_lines_total": None}
    return activity.to_json()


def describe_activity(job: JobRecord, activity: JobActivity | None) -> None:
    """The progress line and last log lines, after `jobs show`'s fields."""
    if activity is None:
        return
    out = sys.stdout
    if activity.progress is not None:
        p = activity.progress
        stale = "" if p.attempt == job.attempts else f" (attempt {p.attempt})"
        out.write(f"{'progress':>14}: {p.describe()}{stale}, at {p.updated_at}\n")
    if activity.lines:
        shown = len(activity.lines)
        out.write(f"\nlast {shown} of {activity.lines_total} log line(s) (jobctl jobs logs {job.id}):\n")
        for line in activity.lines:
            out.write(f"  {line.describe()}\n")
