"""`jobctl worker`: run a worker over one or more queues."""

from __future__ import annotations

from typing import Annotated

import typer

from jobctl.cli.context import STATE


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)


def worker(
    queue: Annotated[list[str], typer.Option("--queue", "-q", help="Queue to consume (repeatable).")],
    burst: Annotated[bool, typer.Option("--burst", help="Exit when the queues are empty.")] = False,
    name: Annotated[str | None, typer.Option("--name", help="Worker name (default host.pid).")] = None,
    log_json: Annotated[
        bool | None,
        typer.Option("--log-json/--log-text", help="Log format (default: JSON unless a terminal)."),
    ] = None,
) -> None:
    """Run jobs from the given queues until stopped (Ctrl-C / SIGTERM)."""
    from jobctl.api import run_worker
    from jobctl.logs import configure_logging

    settings = STATE.settings
    configure_logging(settings.log_level, json_lines=log_json)
    run_worker(settings, queue, burst=burst, name=name)
