"""`jobctl jobs retry --all-failed` and `jobctl jobs purge`: preview, confirm, run, audit.

Both print what matches first. They change nothing with --dry-run; otherwise they ask on the
terminal, unless --yes. Without a terminal (cron, CI, a pipe) and without --yes they refuse
with exit code 17 (NOT_CONFIRMED) instead of waiting for an answer that never comes.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from jobctl.cli.context import STATE
from jobctl.cli.output import info, print_json
from jobctl.domain.errors import InvalidInputError, NotConfirmedError

if TYPE_CHECKING:
    from jobctl.domain.bulk import BulkReport

PURGE_HELP = """Delete old COMPLETED, FAILED or CANCELLED jobs: their rows, attempt rows, progress and
log lines, and RQ data, in batches of 500. PENDING and RUNNING jobs are never touched. Shows
the count and asks first (--yes skips the question; without a terminal, --yes is required:
exit 17). --dry-run only counts. Each purge writes one audit row (`jobctl audit list`)."""


def register(app: typer.Typer) -> None:
    app.command("purge", help=PURGE_HELP)(purge)


def csv(values: list[str] | None) -> list[str]:
    return [v.strip() for raw in values or [] for v in raw.split(",") if v.strip()]


def job_types(values: list[str] | None) -> tuple[str, ...]:
    if not values:
        return ()
    from jobctl.domain.job_types import normalise_type_name

    api = STATE.api
    return tuple(normalise_type_name(api.registry.spec(t).name) for t in csv(values))


def since_time(text: str, now: datetime) -> datetime:
    """'1h' (that long before now) or an ISO time."""
    from jobctl.domain.timeparse import parse_duration, parse_when

    try:
        try:
            return now - parse_duration(text)
        except ValueError:
            return parse_when(text)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None


def run_bulk(report: BulkReport, verb: str, *, dry_run: bool, yes: bool, as_json: bool) -> None:
    """Preview `report`, confirm, run it (`verb`: retry or purge), and print the outcome."""
    from jobctl.api.bulk import BulkAPI, current_actor

    what = _counts(report)
    if dry_run or report.matched == 0:
        report.dry_run = dry_run
        if as_json:
            print_json(report.to_json())
        elif report.matched == 0:
            sys.stdout.write(f"no jobs match: nothing to {verb}\n")
        else:
            sys.stdout.write(f"dry run: would {verb} {what}; nothing changed\n")
        return
    if not yes:
        _confirm(f"{verb.capitalize()} {what}?", verb, report.matched)
    bulk = BulkAPI(STATE.api)
    shown = sys.stderr.isatty() and not as_json

    def progress(done: int) -> None:
        if shown:
            info(f"... {done} of {report.matched}")

    run = bulk.retry_all if verb == "retry" else bulk.purge
    run(report, current_actor(), progress=progress)
    if as_json:
        print_json(report.to_json())
        return
    past = "retried" if verb == "retry" else "purged"
    sys.stdout.write(
        f"{past} {report.done} job(s)" + (f", skipped {len(report.skipped)}" if report.skipped else "") + "\n"
    )
    for job_id, why in report.skipped[:20]:
        info(f"skipped {job_id}: {why}")


def _counts(report: BulkReport) -> str:
    parts = ", ".join(f"{n} {status}" for status, n in sorted(report.by_status.items()))
    return f"{report.matched} job(s) ({parts})" if parts else f"{report.matched} job(s)"


def _confirm(question: str, verb: str, count: int) -> None:
    if not sys.stdin.isatty():
        raise NotConfirmedError(
            f"refusing to {verb} {count} job(s) without confirmation: no terminal to ask on; "
            "pass --yes (or --dry-run to only count them)"
        )
    if not typer.confirm(question, default=False, err=True):
        raise NotConfirmedError("not confirmed: nothing changed")


def purge(
    status: Annotated[
        list[str],
        typer.Option("--status", "-s", help="completed, failed, cancelled (repeat or comma-separate)."),
    ],
    older_than: Annotated[
        str, typer.Option("--older-than", help="Finished longer ago than this: 7d, 12h; or an ISO time.")
    ],
    job_type: Annotated[list[str] | None, typer.Option("--type", "-t", help="Job type(s).")] = None,
    queue: Annotated[list[str] | None, typer.Option("--queue", "-q", help="Queue(s).")] = None,
    org: Annotated[str | None, typer.Option("--org", help="Organisation.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what would go.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    from jobctl.api.bulk import PURGE, BulkAPI
    from jobctl.domain.bulk import JobSelection
    from jobctl.domain.status import parse_status
    from jobctl.domain.timeparse import utcnow

    try:
        statuses = tuple(dict.fromkeys(parse_status(s) for s in csv(status)))
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None
    selection = JobSelection(
        statuses=statuses,
        types=job_types(job_type),
        queues=tuple(csv(queue)),
        organization_id=org,
        finished_before=since_time(older_than, utcnow()),
    )
    report = BulkAPI(STATE.api).preview(PURGE, selection)
    run_bulk(report, "purge", dry_run=dry_run, yes=yes, as_json=as_json)
