"""`jobctl worker`: run a worker process over one or more queues."""

from __future__ import annotations

from typing import Annotated

import typer

from jobctl.cli.context import STATE


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)


def worker(
    queue: Annotated[list[str], typer.Option("--queue", "-q", help="Queue to consume (repeatable).")],
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency", "-c", min=1, max=1000, help="Jobs at once (default: the queue's, e.g. 30)."
        ),
    ] = None,
    pool: Annotated[
        str,
        typer.Option(
            "--pool", help="thread: slots in one process (I/O-bound jobs); process: one process per slot."
        ),
    ] = "thread",
    burst: Annotated[bool, typer.Option("--burst", help="Exit when the queues are empty.")] = False,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            help="Worker name (default host.pid); a restart with the same name recovers its jobs at once.",
        ),
    ] = None,
    health_port: Annotated[
        int | None,
        typer.Option(
            "--health-port", min=0, max=65535, help="Serve /healthz and /metrics on 127.0.0.1:PORT."
        ),
    ] = None,
    grace: Annotated[
        float | None,
        typer.Option(
            "--grace",
            min=0,
            help="Seconds running jobs get to finish after SIGTERM (default: the queue's lock).",
        ),
    ] = None,
    log_json: Annotated[
        bool | None,
        typer.Option("--log-json/--log-text", help="Log format (default: JSON unless a terminal)."),
    ] = None,
) -> None:
    """Run jobs from the given queues until stopped.

    SIGTERM/Ctrl-C once: take no new jobs, let running ones finish (exit 0). Twice, or when the
    grace period ends: running jobs go back to PENDING without spending a retry (exit 13).
    """
    from jobctl.api import run_worker
    from jobctl.domain.errors import InvalidInputError
    from jobctl.logs import configure_logging

    if pool not in ("thread", "process"):
        raise InvalidInputError(f"--pool must be thread or process, not {pool!r}")
    settings = STATE.settings
    # Thread slots log from many threads at once: one writer thread (the process pool forks).
    configure_logging(settings.log_level, json_lines=log_json, background=pool == "thread")
    code = run_worker(
        settings,
        queue,
        concurrency=concurrency,
        burst=burst,
        name=name,
        grace_s=grace,
        health_port=health_port,
        pool=pool,
    )
    if code:
        raise typer.Exit(code)
