"""`jobctl audit list`: the bulk actions operators ran (who, what, which filter, how many)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from jobctl.cli.context import STATE
from jobctl.cli.output import info, print_json, table

app = typer.Typer(help="The audit log of bulk actions (purge, retry --all-failed, several ids).",
                  no_args_is_help=True)  # fmt: skip


@app.command("list")
def list_entries(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10000, help="At most this many.")] = 50,
    action: Annotated[
        str | None, typer.Option("--action", help="Only this action: jobs.purge, jobs.retry, jobs.cancel.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """Audit entries, newest first: when, who, action, how many jobs it changed, the filter."""
    from jobctl.api.bulk import BulkAPI

    entries = BulkAPI(STATE.api).audit_log(limit=limit, action=action)
    if as_json:
        print_json([e.to_json() for e in entries])
        return
    if not entries:
        info("no audit entries")
        return
    table(
        None,
        ["AT", "ACTOR", "ACTION", "COUNT", "FILTER", "NOTE"],
        [
            (
                e.at.strftime("%Y-%m-%d %H:%M:%S"),
                e.actor,
                e.action,
                e.count,
                json.dumps(e.filter, sort_keys=True)[:100],
                f"stopped: {e.detail['aborted']}"[:80] if e.detail and e.detail.get("aborted") else "",
            )
            for e in entries
        ],
    )
