"""`jobctl doctor`: configuration, connectivity, workers, stuck jobs and why (read-only)."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from jobctl.cli.context import STATE
from jobctl.cli.output import print_json
from jobctl.domain.errors import ExitCode

_MARK = {"ok": "ok", "warn": "WARN", "fail": "FAIL"}
_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red"}


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)


def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    overdue_after: Annotated[
        str,
        typer.Option("--overdue-after", help="A PENDING job due longer than this is reported (e.g. 5m, 1h)."),
    ] = "5m",
) -> None:
    """Check config, database, Redis, workers, queues and stuck jobs; say why and what to do.

    Read-only: it changes nothing (recovery and reconciliation are the workers' job). Exit 0
    when no check failed (warnings allowed), 14 when one did."""
    from jobctl.api.doctor import run_doctor
    from jobctl.domain.errors import InvalidInputError
    from jobctl.domain.redaction import redact
    from jobctl.domain.timeparse import parse_duration

    try:
        after = parse_duration(overdue_after)
    except ValueError as exc:
        raise InvalidInputError(f"--overdue-after: {exc}") from None
    report = run_doctor(STATE.config_path, os.environ, overdue_after=after)
    if as_json:
        print_json(report.to_json())
    else:
        _print(report, redact)
    if report.failed:
        raise typer.Exit(ExitCode.CHECK_FAILED)


def _print(report: object, redact: object) -> None:
    from rich.console import Console
    from rich.markup import escape

    from jobctl.api.doctor import DoctorReport

    assert isinstance(report, DoctorReport) and callable(redact)
    width = None if sys.stdout.isatty() else 240
    console = Console(soft_wrap=False, width=width, highlight=False)
    name_width = max(len(c.name) for c in report.checks)
    for c in report.checks:
        mark = f"[{_STYLE[c.status]}]{_MARK[c.status]:>4}[/]"
        console.print(f"{mark}  {escape(c.name.ljust(name_width))}  {escape(redact(c.finding))}")
        if c.hint and c.status != "ok":
            console.print(f"      {' ' * name_width}  [dim]→ {escape(redact(c.hint))}[/]")
    failed = sum(1 for c in report.checks if c.status == "fail")
    warned = sum(1 for c in report.checks if c.status == "warn")
    summary = f"{len(report.checks)} checks: {failed} failed, {warned} warning(s)"
    console.print(f"[{_STYLE[report.status]}]{summary}[/]")
