"""`jobctl db upgrade | status | prune`: the schema migrations, and pruning by the retention windows."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from jobctl.cli.context import STATE
from jobctl.cli.output import print_json

app = typer.Typer(help="Database schema (status, upgrade) and retention (prune).", no_args_is_help=True)


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


PRUNE_HELP = """Delete what the [retention] windows let go, now: finished jobs (with their
attempt rows, RQ data, progress and log lines), schedule firings, analytics and audit rows
older than their window ([retention] *_days, e.g. JOBCTL_RETENTION_JOBS_DAYS; 0 keeps forever).
PENDING and RUNNING jobs are never touched. Runs in batches of [retention] batch_size rows,
pausing between them; every `jobctl scheduler` does the same hourly, so this is for a first
clean-up or a deployment without a scheduler (cron). --dry-run only counts. A prune that
deleted something writes one audit row. Exit 11 if another process is pruning at that moment."""


@app.command("prune", help=PRUNE_HELP)
def prune(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would go; change nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    from jobctl.api.retention import prune as run_prune
    from jobctl.cli.output import info, table

    report = run_prune(STATE.api, dry_run=dry_run)
    if as_json:
        print_json(report.to_json())
        return
    verb = "would delete" if dry_run else "deleted"
    rows = []
    for t in report.tables:
        keep = "forever" if t.days <= 0 else f"{t.days} d"
        done = t.skipped or f"{t.deleted:,}"
        took = "-" if dry_run or t.skipped else f"{t.batches} in {t.seconds:.2f}s"
        rows.append((t.table, keep, t.cutoff.strftime("%Y-%m-%d %H:%M") if t.cutoff else "-", done, took))
    table(None, ("table", "keep", "older than (UTC)", verb, "batches"), rows)
    if report.stopped:
        info(f"stopped early ({report.stopped}): the next prune continues where this one ended")
    elif not dry_run:
        info(f"{report.deleted:,} row(s) deleted")
