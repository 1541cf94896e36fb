"""`jobctl enqueue` and `jobctl ping`."""

from __future__ import annotations

import contextlib
import sys
from typing import Annotated

import typer

from jobctl.cli.context import STATE
from jobctl.cli.output import info, print_json
from jobctl.domain.errors import InvalidInputError, JobctlError


def register(app: typer.Typer) -> None:
    app.command("enqueue", no_args_is_help=True)(enqueue)
    app.command("ping")(ping)


def enqueue(
    job_type: Annotated[
        str, typer.Argument(metavar="TYPE", help="Job type, e.g. scrape-website or SCRAPE_WEBSITE.")
    ],
    fields: Annotated[
        list[str] | None,
        typer.Argument(metavar="KEY=VALUE...", help="Payload fields: key=value (string) or key:=<json>."),
    ] = None,
    payload: Annotated[str | None, typer.Option("--payload", help="Payload as JSON, or @file.json.")] = None,
    org: Annotated[str | None, typer.Option("--org", help="Organisation (fills organization_id).")] = None,
    queue: Annotated[str | None, typer.Option("--queue", help="Override the type's queue.")] = None,
    delay: Annotated[str | None, typer.Option("--in", help="Run after a delay: 30s, 10m, 1h30m.")] = None,
    at: Annotated[str | None, typer.Option("--at", help="Run at an ISO 8601 time (UTC if no zone).")] = None,
    job_id: Annotated[
        str | None, typer.Option("--id", help="Job id (idempotent: same id, same job).")
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait until the job finishes, showing its progress on stderr.")
    ] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds --wait waits.")] = 300.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the job as JSON.")] = False,
) -> None:
    """Validate and submit a job; print its id (or, with --json, the job)."""
    from jobctl.cli.parsing import parse_payload
    from jobctl.domain.timeparse import parse_duration, parse_when

    data = parse_payload(fields or [], payload)
    try:
        delta = parse_duration(delay) if delay else None
        when = parse_when(at) if at else None
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None
    api = STATE.api
    job = api.enqueue_job(
        job_type, data, organization_id=org, queue=queue, job_id=job_id, delay=delta, at=when
    )
    if wait:
        from jobctl.cli.wait_progress import WaitProgress

        try:
            with WaitProgress(api, job.id) as show_progress:
                job = api.wait_for(job.id, timeout, on_poll=show_progress)
        except JobctlError as exc:
            _print_job(getattr(exc, "job", job), as_json)
            raise
    _print_job(job, as_json)


def _print_job(job: object, as_json: bool) -> None:
    from jobctl.domain.records import JobRecord

    assert isinstance(job, JobRecord)
    if as_json:
        print_json(job.to_json())
    else:
        sys.stdout.write(job.id + "\n")


def ping(
    queue: Annotated[str, typer.Option("--queue", "-q", help="Queue to check.")],
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for a worker.")] = 30.0,
    sleep_s: Annotated[float, typer.Option("--sleep", help="Seconds the ping job sleeps.")] = 0.0,
    fail_attempts: Annotated[int, typer.Option("--fail-attempts", help="Fail the first N attempts.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the finished ping job as JSON.")] = False,
) -> None:
    """Enqueue a ping on QUEUE and wait for a worker to run it: an end-to-end check."""
    from jobctl.domain.errors import WaitTimeoutError

    api = STATE.api
    payload: dict[str, object] = {"sleep_s": sleep_s, "fail_attempts": fail_attempts}
    job = api.enqueue_job("ping", payload, queue=queue)
    try:
        done = api.wait_for(job.id, timeout)
    except WaitTimeoutError as exc:
        row = getattr(exc, "job", job)
        with contextlib.suppress(JobctlError):
            api.cancel_job(job.id)  # a ping that outlived its check must not run later
        if row.attempts == 0:
            why = f"no worker ran it within {timeout:g}s (is `jobctl worker --queue {queue}` running?)"
        else:
            last = f": {row.error.type}: {row.error.message}" if row.error else ""
            why = f"it was still {row.status.value} after {row.attempts} attempt(s) in {timeout:g}s{last}"
        raise WaitTimeoutError(
            f"ping on queue {queue!r} failed: {why}; ping job {job.id} was cancelled"
        ) from None
    if as_json:
        print_json(done.to_json())
        return
    took = done.duration_s or 0.0
    total = (done.finished_at - done.created_at).total_seconds() if done.finished_at else 0.0
    sys.stdout.write(
        f"pong from {done.worker} on {queue}: ran in {took * 1000:.0f} ms, {total * 1000:.0f} ms end to end"
        f" (attempt {done.attempts})\n"
    )
    if done.attempts > 1:
        info(f"note: the ping needed {done.attempts} attempts")
