"""`jobctl jobs wait ID...`: block until jobs end; the exit code tells how they ended.

Exit codes (the least finished outcome wins, so 0, 9 and 16 all promise that every job has
ended): 4 an id is unknown (reported at once, nothing waited for), 10 a job had not ended by
the deadline, 9 a job FAILED, 16 a job was CANCELLED, 0 every job COMPLETED.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from jobctl.cli.context import STATE
from jobctl.cli.output import print_json, seconds
from jobctl.domain.errors import (
    InvalidInputError,
    JobEndedBadlyError,
    JobNotFoundError,
    JobWasCancelledError,
    WaitTimeoutError,
)

if TYPE_CHECKING:
    from jobctl.domain.records import JobRecord

WAIT_HELP = """Wait until every job ends; one line per job on stdout as it is known (ID STATUS ...), or
a JSON list with --json. Exit code: 0 all COMPLETED; 16 one was CANCELLED (none FAILED); 9 one
FAILED; 10 one had not ended within --timeout; 4 an id is unknown (nothing is waited for). The
least finished outcome wins: 10 over 9 over 16 over 0, so 0, 9 and 16 mean every job ended."""


def register(app: typer.Typer) -> None:
    app.command("wait", no_args_is_help=True, help=WAIT_HELP)(wait)


def wait(
    ids: Annotated[list[str], typer.Argument(metavar="ID...")],
    timeout: Annotated[
        str, typer.Option("--timeout", help="One deadline for all the jobs: 30s, 10m, 1h (0: look once).")
    ] = "10m",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON list of the jobs at the end.")
    ] = False,
) -> None:
    from jobctl.domain.status import JobStatus
    from jobctl.domain.timeparse import parse_duration

    try:
        limit = parse_duration(timeout).total_seconds()
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None
    api = STATE.api
    ids = list(dict.fromkeys(ids))
    missing = [job_id for job_id in ids if not _exists(job_id)]
    if missing:
        raise JobNotFoundError(missing[0]) if len(missing) == 1 else _not_found(missing)
    within = f"{limit:g}s"
    deadline = time.monotonic() + limit
    rows: list[tuple[JobRecord, bool]] = []  # (row, timed out)
    for job_id in ids:
        try:
            row, late = api.wait_for(job_id, max(0.0, deadline - time.monotonic())), False
        except (JobEndedBadlyError, WaitTimeoutError) as exc:
            row, late = getattr(exc, "job"), isinstance(exc, WaitTimeoutError)  # noqa: B009
        rows.append((row, late))
        if not as_json:
            sys.stdout.write(_line(row, late, within) + "\n")
            sys.stdout.flush()
    if as_json:
        print_json([row.to_json() | {"timed_out": late} for row, late in rows])
    late_n = sum(1 for _, late in rows if late)
    failed = sum(1 for row, late in rows if not late and row.status == JobStatus.FAILED)
    cancelled = sum(1 for row, late in rows if not late and row.status == JobStatus.CANCELLED)
    of = f" of {len(rows)}" if len(rows) > 1 else ""
    if late_n:
        raise WaitTimeoutError(f"{late_n}{of} job(s) had not ended within {within}")
    if failed:
        raise JobEndedBadlyError(f"{failed}{of} job(s) FAILED")
    if cancelled:
        raise JobWasCancelledError(f"{cancelled}{of} job(s) were CANCELLED")


def _exists(job_id: str) -> bool:
    try:
        STATE.api.get_job(job_id)
    except JobNotFoundError:
        return False
    return True


def _not_found(missing: list[str]) -> JobNotFoundError:
    err = JobNotFoundError(missing[0])
    err.message = f"no jobs with ids {', '.join(repr(m) for m in missing)}"
    return err


def _line(row: Any, late: bool, within: str) -> str:
    """`ID STATUS attempts=N took=Ts` and the error or why it is not final."""
    parts = [row.id, row.status.value, f"attempts={row.attempts}/{row.max_attempts}"]
    if row.duration_s is not None:
        parts.append(f"took={seconds(row.duration_s)}")
    if late:
        parts.append(f"(not ended within {within})")
    elif row.error is not None:
        parts.append(f"{row.error.type}: {row.error.message}"[:200])
    return " ".join(parts)
