"""`jobctl redis status | stop`: the private embedded Redis server."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from jobctl.cli.context import STATE
from jobctl.cli.output import info, print_json

app = typer.Typer(
    help="The embedded Redis server (used when JOBCTL_REDIS_URL is not set).", no_args_is_help=True
)


@app.command("status")
def status(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Show whether the embedded Redis runs, its pid, socket and binary."""
    from jobctl.api import embedded_redis_status

    st = embedded_redis_status(STATE.settings)
    if as_json:
        print_json(st)
        return
    state = f"running (pid {st['pid']})" if st["running"] else "not running"
    sys.stdout.write(f"embedded Redis: {state}\n  socket: {st['socket_path']}\n  binary: {st['binary']}\n")
    if not st["in_use"]:
        info("note: JOBCTL_REDIS_URL (or redis_url in the config) is set, so jobctl does not use it")


@app.command("stop")
def stop() -> None:
    """Stop the embedded Redis (jobctl starts it again on demand). Queued jobs persist (AOF)."""
    from jobctl.api import stop_embedded_redis

    if stop_embedded_redis(STATE.settings):
        sys.stdout.write("embedded Redis stopped\n")
    else:
        sys.stdout.write("embedded Redis was not running\n")
