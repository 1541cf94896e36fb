"""`jobctl events [-f] [--type T] [--org O] [--queue Q] [--json]`: job transitions, one a line.

Without -f: the recent ones (the stream keeps about the last 10,000), then exit. With -f:
those, then every new one as it happens, until Ctrl-C (exit 0). --json: one JSON object a line.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from jobctl.cli.context import STATE

if TYPE_CHECKING:
    from jobctl.queue.events import JobEvent


def register(app: typer.Typer) -> None:
    app.command("events")(events)


def events(
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new events until Ctrl-C.")
    ] = False,
    job_type: Annotated[list[str] | None, typer.Option("--type", "-t", help="Job type(s).")] = None,
    org: Annotated[str | None, typer.Option("--org", help="Organisation.")] = None,
    queue: Annotated[list[str] | None, typer.Option("--queue", "-q", help="Queue(s).")] = None,
    last: Annotated[
        int, typer.Option("--last", "-n", min=0, max=10000, help="Recent events shown first.")
    ] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Job transitions (enqueued, started, completed, failed, retry, lost, cancelled…), oldest first."""
    from jobctl.api.events import EventFilter, follow_events, recent_events

    flt = EventFilter(tuple(job_type or ()), org, tuple(queue or ()))
    api = STATE.api
    try:
        shown, position = recent_events(api, flt, last)
        for e in shown:
            _print(e, as_json)
        if not follow:
            return
        for e in follow_events(api, flt, position):
            _print(e, as_json)
    except KeyboardInterrupt:
        return  # Ctrl-C is how following ends: exit 0, no traceback
    except BrokenPipeError:  # `jobctl events -f | head`
        sys.stderr.close()
        return


def _print(e: JobEvent, as_json: bool) -> None:
    sys.stdout.write((json.dumps(e.to_json(), ensure_ascii=False) if as_json else describe(e)) + "\n")
    sys.stdout.flush()


def describe(e: JobEvent) -> str:
    """`09:14:25.123 retry-scheduled  <id>  ping  org=acme  RUNNING→PENDING  attempt 1  …`"""
    when = e.at.strftime("%Y-%m-%d %H:%M:%S.") + f"{e.at.microsecond // 1000:03d}"
    parts = [
        when, f"{e.kind:<15}", e.job_id, e.job_type, f"org={e.organization_id or '-'}",
        f"{e.from_status or '-'}→{e.to_status}", f"attempt {e.attempt}",
    ]  # fmt: skip
    if e.next_attempt_at is not None:
        parts.append(f"next {e.next_attempt_at.strftime('%H:%M:%S')}")
    if e.error:
        parts.append(e.error)
    return "  ".join(parts)
