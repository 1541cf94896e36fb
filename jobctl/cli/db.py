"""`jobctl db upgrade | status`: the Job table's schema migrations."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from jobctl.cli.context import STATE
from jobctl.cli.output import print_json

app = typer.Typer(help="Database schema: status and upgrade.", no_args_is_help=True)


@app.command("upgrade")
def upgrade() -> None:
    """Apply pending migrations (automatic for the embedded SQLite)."""
    from jobctl.api import upgrade_database

    before, after = upgrade_database(STATE.settings)
    if before == after:
        sys.stdout.write(f"database already at {after}\n")
    else:
        sys.stdout.write(f"database upgraded: {before or 'empty'} -> {after}\n")


@app.command("status")
def status(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Which database, its schema revision, and whether it is current."""
    from jobctl.api import database_status

    info = database_status(STATE.settings)
    if as_json:
        print_json(info)
        return
    state = "up to date" if info["up_to_date"] else "needs `jobctl db upgrade`"
    sys.stdout.write(f"{info['url']}: revision {info['revision'] or 'none'} (head {info['head']}, {state})\n")
