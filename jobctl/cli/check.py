"""`jobctl check`: thresholds for cron and alerting; exit 0 (OK) or 1 with a one-line reason.

The verdict line goes to stdout (what Nagios-style runners read), also when a check fails;
stderr carries only errors of the command itself, with their own exit codes (3 bad option,
8 database unreachable), so "the check failed" (1) is never confused with "could not check".
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from jobctl.cli.context import STATE
from jobctl.cli.output import print_json
from jobctl.domain.errors import InvalidInputError

CHECK_HELP = """Judge the job system against thresholds, for cron and alerting. Prints one line on stdout,
`OK: ...` or `FAILED: <reasons>`, with Nagios performance data after `|`; --json gives each
check's value, threshold and verdict. Exit 0 when every check passes, 1 when one fails; errors
of the command itself have their own codes (3 bad option, 8 database unreachable). A check
fails when its value is above its threshold: --max-failed N (FAILED jobs finished within
--since, default 1h), --max-queue-age (how long the longest-waiting due PENDING job has waited;
jobs scheduled for later do not count), --max-unhealthy-sources N. --queue limits the first two."""


def register(app: typer.Typer) -> None:
    app.command("check", help=CHECK_HELP)(check)


def check(
    max_failed: Annotated[
        int | None, typer.Option("--max-failed", min=0, help="At most this many FAILED jobs within --since.")
    ] = None,
    since: Annotated[str, typer.Option("--since", help="The --max-failed window: 15m, 1h, 1d.")] = "1h",
    max_queue_age: Annotated[
        str | None, typer.Option("--max-queue-age", help="A due PENDING job waits at most this long: 5m.")
    ] = None,
    max_unhealthy_sources: Annotated[
        int | None,
        typer.Option("--max-unhealthy-sources", min=0, help="At most this many UNHEALTHY sources."),
    ] = None,
    queue: Annotated[
        list[str] | None, typer.Option("--queue", "-q", help="Only these queues (failed jobs, queue age).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print every check as JSON.")] = False,
) -> None:
    from jobctl.api.checks import CheckOptions, run_checks
    from jobctl.domain.timeparse import parse_duration

    try:
        window = parse_duration(since)
        age = parse_duration(max_queue_age) if max_queue_age is not None else None
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None
    queues = tuple(dict.fromkeys(v.strip() for raw in queue or [] for v in raw.split(",") if v.strip()))
    options = CheckOptions(max_failed, window, age, max_unhealthy_sources, queues)
    report = run_checks(STATE.api, options)
    if as_json:
        print_json(report.to_json())
    else:
        sys.stdout.write(report.line() + "\n")
    if not report.ok:
        raise typer.Exit(1)
