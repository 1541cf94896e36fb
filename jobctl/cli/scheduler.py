"""`jobctl scheduler`: fire cron schedules (leader-elected: safe to run several)."""

from __future__ import annotations

from typing import Annotated

import typer

from jobctl.cli.context import STATE
from jobctl.domain.errors import InvalidInputError


def register(app: typer.Typer) -> None:
    app.command("scheduler")(scheduler)


def _seconds(option: str, text: str) -> float:
    from jobctl.domain.timeparse import parse_duration

    try:
        value = parse_duration(text).total_seconds()
    except ValueError as exc:
        raise InvalidInputError(f"{option}: {exc}") from None
    if value <= 0:
        raise InvalidInputError(f"{option} must be longer than 0s")
    return value


def scheduler(
    once: Annotated[bool, typer.Option("--once", help="Fire what is due now, then exit.")] = False,
    health_port: Annotated[
        int | None,
        typer.Option("--health-port", min=0, max=65535, help="Serve /healthz and /metrics on this port."),
    ] = None,
    health_host: Annotated[
        str, typer.Option("--health-host", help="Address to serve them on.")
    ] = "127.0.0.1",
    lease: Annotated[
        str, typer.Option("--lease", help="Leader lease: a stopped leader is replaced within this.")
    ] = "10s",
    health_interval: Annotated[
        str, typer.Option("--health-interval", help="How often to log the health line.")
    ] = "60s",
    name: Annotated[
        str | None, typer.Option("--name", help="Name in logs and the lease (default host.pid).")
    ] = None,
    log_json: Annotated[
        bool | None,
        typer.Option("--log-json/--log-text", help="Log format (default: JSON unless a terminal)."),
    ] = None,
) -> None:
    """Run the cron scheduler until stopped (Ctrl-C / SIGTERM). Several may run: one leads."""
    from jobctl.api.schedules import run_scheduler
    from jobctl.cli.output import info
    from jobctl.logs import configure_logging

    lease_s = _seconds("--lease", lease)
    interval_s = _seconds("--health-interval", health_interval)
    settings = STATE.settings
    configure_logging(settings.log_level, json_lines=log_json)
    led = run_scheduler(
        settings, once=once, health_port=health_port, health_host=health_host, lease_ttl_s=lease_s,
        health_interval_s=interval_s, name=name,
    )  # fmt: skip
    if once and not led:
        info("another scheduler holds the lease: it fires the schedules; nothing done here")
