"""`jobctl jobs list | show | cancel | retry | wait | purge | logs`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from jobctl.cli import job_logs, jobs_bulk, jobs_wait
from jobctl.cli.context import STATE
from jobctl.cli.output import age, error, info, print_json, seconds, table
from jobctl.domain.errors import InvalidInputError, JobctlError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from jobctl.domain.attempts import AttemptRecord
    from jobctl.domain.records import JobRecord

app = typer.Typer(
    help="List, inspect, cancel, retry, wait for and purge jobs; read their logs.", no_args_is_help=True
)


def _csv(values: list[str] | None) -> list[str]:
    return [v.strip() for raw in values or [] for v in raw.split(",") if v.strip()]


@app.command("list")
def list_jobs(
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            "-s",
            help="pending, running, completed, failed, cancelled (repeat or comma-separate).",
        ),
    ] = None,
    job_type: Annotated[list[str] | None, typer.Option("--type", "-t", help="Job type(s).")] = None,
    queue: Annotated[list[str] | None, typer.Option("--queue", "-q", help="Queue(s).")] = None,
    org: Annotated[str | None, typer.Option("--org", help="Organisation.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Created within: 30m, 1h, 2d; or an ISO time.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=10000, help="At most this many rows.")
    ] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """Jobs, newest first."""
    from jobctl.domain.records import JobFilter
    from jobctl.domain.status import parse_status
    from jobctl.domain.timeparse import parse_duration, parse_when, utcnow

    try:
        statuses = tuple(parse_status(s) for s in _csv(status))
        since_at = None
        if since:
            try:
                since_at = utcnow() - parse_duration(since)
            except ValueError:
                since_at = parse_when(since)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None
    api = STATE.api
    types: tuple[str, ...] = ()
    if job_type:  # the job types' catalogue (payload models) loads only when asked: ~10 ms
        from jobctl.domain.job_types import normalise_type_name

        types = tuple(normalise_type_name(api.registry.spec(t).name) for t in _csv(job_type))
    flt = JobFilter(
        statuses=statuses,
        types=types,
        queues=tuple(_csv(queue)),
        organization_id=org,
        since=since_at,
        limit=limit,
    )
    rows = api.list_jobs(flt)
    if as_json:
        print_json([r.to_json() for r in rows])
        return
    if not rows:
        info("no jobs match")
        return
    table(
        None,
        ["ID", "TYPE", "QUEUE", "STATUS", "ORG", "TRIES", "AGE", "TOOK", "ERROR"],
        [
            (
                r.id,
                r.type,
                r.queue,
                r.status.value,
                r.organization_id or "-",
                f"{r.attempts}/{r.max_attempts}",
                age(r.created_at),
                seconds(r.duration_s),
                (f"{r.error.type}: {r.error.message}"[:60] if r.error else ""),
            )
            for r in rows
        ],
    )


@app.command("show")
def show(
    job_id: Annotated[str, typer.Argument(metavar="ID")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the job as JSON.")] = False,
) -> None:
    """Everything about one job: payload, result, error with traceback, timing, every attempt
    (worker, start, duration, outcome, error) on its timeline, progress and last log lines."""
    detail = STATE.api.show_job(job_id)
    activity = job_logs.activity_or_none(job_id)
    if as_json:
        print_json(detail.to_json() | job_logs.activity_json(activity))
        return
    _describe(detail.job, detail.attempts)
    job_logs.describe_activity(detail.job, activity)


def _describe(job: JobRecord, attempts: Sequence[AttemptRecord] = ()) -> None:
    import json

    from jobctl.cli.timeline import attempt_lines

    out = sys.stdout
    pairs = [
        ("id", job.id),
        ("type", job.type),
        ("queue", job.queue),
        ("status", job.status.value),
        ("organization", job.organization_id or "-"),
        ("attempts", f"{job.attempts} of {job.max_attempts}{_deferred_note(attempts)}"),
        ("worker", job.worker or "-"),
        ("created", job.created_at.isoformat()),
        ("scheduled for", job.scheduled_for.isoformat() if job.scheduled_for else "-"),
        ("next attempt", job.next_attempt_at.isoformat() if job.next_attempt_at else "-"),
        ("started", job.started_at.isoformat() if job.started_at else "-"),
        ("finished", job.finished_at.isoformat() if job.finished_at else "-"),
        ("took", seconds(job.duration_s)),
        ("schedule", job.schedule_id or "-"),
    ]
    for key, value in pairs:
        out.write(f"{key:>14}: {value}\n")
    out.write(f"{'timeline':>14}:\n")
    for line in attempt_lines(attempts):
        out.write(f"{'':>16}{line}\n")
    out.write(f"{'payload':>14}: {json.dumps(job.payload, sort_keys=True)}\n")
    if job.result is not None:
        out.write(f"{'result':>14}: {json.dumps(job.result, sort_keys=True, default=str)}\n")
    if job.error is not None:
        out.write(f"{'error':>14}: {job.error.type}: {job.error.message}\n")
        if job.error.traceback:
            out.write("\n" + job.error.traceback.rstrip() + "\n")


def _deferred_note(attempts: Sequence[AttemptRecord]) -> str:
    """Deferred executions count in `attempts` (each is its own run) but were given back."""
    deferred = sum(1 for a in attempts if a.outcome == "deferred")
    return f" ({deferred} deferred, no retry spent)" if deferred else ""


def _act(
    ids: list[str], action: Callable[[str], JobRecord], verb: str, as_json: bool, audit_action: str
) -> None:
    """Apply `action` to each id; report each; exit with the first failure's code. Several ids
    make a bulk action: one audit row records it (`jobctl audit list`)."""
    results: list[dict[str, object]] = []
    first_error: JobctlError | None = None
    ids = list(dict.fromkeys(ids))
    for job_id in ids:
        try:
            job = action(job_id)
        except JobctlError as exc:
            first_error = first_error or exc
            results.append({"id": job_id, "ok": False, "error": exc.message})
            if not as_json:
                error(exc.message)
            continue
        results.append({"id": job_id, "ok": True, "status": job.status.value})
        if not as_json:
            sys.stdout.write(f"{verb} {job_id}\n")
    if len(ids) > 1:
        from jobctl.api.bulk import BulkAPI, current_actor

        done = sum(1 for r in results if r["ok"])
        BulkAPI(STATE.api).record_ids(audit_action, ids, done, len(ids) - done, current_actor())
    if as_json:
        print_json(results)
    if first_error is not None:
        raise typer.Exit(int(first_error.exit_code))


@app.command("cancel", no_args_is_help=True)
def cancel(
    ids: Annotated[list[str], typer.Argument(metavar="ID...")],
    as_json: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
) -> None:
    """Cancel jobs: a PENDING job leaves its queue; a RUNNING job is stopped by its worker.
    Several ids write one audit row."""
    _act(ids, STATE.api.cancel_job, "cancelled", as_json, "jobs.cancel")


@app.command("retry", no_args_is_help=True)
def retry(
    ids: Annotated[list[str] | None, typer.Argument(metavar="ID...")] = None,
    all_failed: Annotated[
        bool, typer.Option("--all-failed", help="Every FAILED job matching --type/--org/--since.")
    ] = False,
    job_type: Annotated[
        list[str] | None, typer.Option("--type", "-t", help="--all-failed: job type(s).")
    ] = None,
    org: Annotated[str | None, typer.Option("--org", help="--all-failed: organisation.")] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="--all-failed: failed within 30m, 1h, 2d; or since an ISO time."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="--all-failed: only count them.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="--all-failed: do not ask.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
) -> None:
    """Retry FAILED or CANCELLED jobs now, with a fresh retry budget. --all-failed retries every
    FAILED job of a filter, each as `jobs retry ID` would; it shows the count and asks first
    (--yes skips the question; without a terminal --yes is required: exit 17), --dry-run only
    counts, and the run writes one audit row."""
    bulk_only = job_type or org or since or dry_run or yes
    if all_failed == bool(ids):
        raise typer.BadParameter("give job ids or --all-failed (one of the two)")
    if not all_failed:
        if bulk_only:
            raise typer.BadParameter("--type, --org, --since, --dry-run and --yes go with --all-failed")
        _act(ids or [], STATE.api.retry_job, "retried", as_json, "jobs.retry")
        return
    from jobctl.api.bulk import RETRY, BulkAPI
    from jobctl.cli.jobs_bulk import job_types, run_bulk, since_time
    from jobctl.domain.bulk import JobSelection
    from jobctl.domain.status import JobStatus
    from jobctl.domain.timeparse import utcnow

    now = utcnow()
    selection = JobSelection(
        statuses=(JobStatus.FAILED,),
        types=job_types(job_type),
        organization_id=org,
        finished_after=since_time(since, now) if since else None,
        finished_before=now,  # jobs failing again during the run are not retried twice
    )
    report = BulkAPI(STATE.api).preview(RETRY, selection)
    run_bulk(report, "retry", dry_run=dry_run, yes=yes, as_json=as_json)


job_logs.register(app)  # `jobs logs`, listed after the others
jobs_wait.register(app)
jobs_bulk.register(app)
