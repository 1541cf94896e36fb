"""`jobctl top`: the live dashboard (Textual). Textual is imported only when it runs."""

from __future__ import annotations

from typing import Annotated

import typer

from jobctl.cli.context import STATE


def register(app: typer.Typer) -> None:
    app.command("top")(top)


def top(
    interval: Annotated[
        float,
        typer.Option("--interval", min=0.1, help="Seconds between refreshes (each waits for the last)."),
    ] = 1.0,
    readonly: Annotated[
        bool, typer.Option("--readonly", help="Watch only: retry, cancel and delete are disabled.")
    ] = False,
) -> None:
    """Live dashboard: queues, throughput, workers, jobs (/ filters), failed groups; retry, cancel, delete."""
    from jobctl.tui.app import create_app

    app = create_app(api=STATE.api, interval=interval, readonly=readonly)
    app.run()
