"""`jobctl schedules list | show | add | remove | pause | resume | trigger | install-defaults`."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from jobctl.cli.context import STATE
from jobctl.cli.output import age, error, info, print_json, table
from jobctl.domain.errors import InvalidInputError, JobctlError

if TYPE_CHECKING:
    from collections.abc import Callable

    from jobctl.api.schedules import ScheduleAPI, ScheduleView

app = typer.Typer(help="Cron schedules: list, add, pause, resume, trigger, remove.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _api() -> ScheduleAPI:
    from jobctl.api.schedules import ScheduleAPI

    return ScheduleAPI(STATE.api)


def _when(t: datetime, now: datetime) -> str:
    return t.strftime("%H:%M:%S") if t.date() == now.date() else t.strftime("%m-%d %H:%M")


def _iso(t: datetime | None) -> str:
    return t.isoformat() if t else "-"


def _plain(view: ScheduleView) -> str:
    """The cron in English, or the raw expression (never a guess)."""
    rec = view.record
    if view.description:
        return view.description
    return f"cron {rec.cron}" + ("" if rec.timezone == "UTC" else f" ({rec.timezone})")


@app.command("list")
def list_schedules(as_json: JsonOption = False) -> None:
    """Every schedule: type, when in plain English, next 3 runs (UTC), last result, skips."""
    views = _api().list()
    if as_json:
        print_json([v.to_json() for v in views])
        return
    if not views:
        info("no schedules (add one with `jobctl schedules add`, or `jobctl schedules install-defaults`)")
        return
    now = datetime.now(UTC)
    rows = []
    for v in views:
        rec = v.record
        last = "-"
        if rec.last_job_id:
            status = rec.last_job_status.value if rec.last_job_status else "gone"
            last = f"{status} {age(rec.last_fired_at, now)} ago" if rec.last_fired_at else status
        nexts = ", ".join(_when(t, now) for t in v.next_runs) or "-"
        state = "enabled" if rec.enabled else "paused"
        rows.append((rec.name, rec.job_type, _plain(v), nexts, last, rec.skip_count, state))
    table(None, ["NAME", "TYPE", "SCHEDULE", "NEXT (UTC)", "LAST", "SKIPS", "STATE"], rows)


@app.command("show", no_args_is_help=True)
def show(
    name: Annotated[str, typer.Argument(metavar="NAME")],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10000, help="History rows.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """One schedule and the history of its ticks: jobs (with their status), skips, misses."""
    import json

    view, history = _api().show(name, limit)
    if as_json:
        print_json({"schedule": view.to_json(), "history": [f.to_json() for f in history]})
        return
    rec, out = view.record, sys.stdout
    last_job = f"{rec.last_job_id} ({rec.last_job_status.value if rec.last_job_status else 'gone'})"
    pairs = [
        ("name", rec.name), ("id", rec.id), ("type", rec.job_type),
        ("cron", f"{rec.cron}  ({view.description or 'no plain-English form'})"),
        ("time zone", rec.timezone), ("queue", rec.queue or "(the type's queue)"),
        ("organization", rec.organization_id or "-"), ("catch-up", rec.catch_up.value),
        ("state", "enabled" if rec.enabled else "paused"),
        ("next runs", ", ".join(t.isoformat() for t in view.next_runs) or "-"),
        ("last fired", _iso(rec.last_fired_at)),
        ("last job", last_job if rec.last_job_id else "-"),
        ("skips", f"{rec.skip_count} (last {_iso(rec.last_skipped_at)})"),
        ("default of", f"{rec.owner_kind} {rec.owner_id} ({rec.template})" if rec.template else "-"),
    ]  # fmt: skip
    for key, value in pairs:
        out.write(f"{key:>12}: {value}\n")
    out.write(f"{'payload':>12}: {json.dumps(rec.payload, sort_keys=True)}\n\n")
    if not history:
        out.write("no ticks handled yet\n")
        return
    table(
        "history (newest first)",
        ["FIRE TIME (UTC)", "OUTCOME", "JOB", "STATUS", "NOTE"],
        [
            (
                f.fire_time.strftime("%Y-%m-%d %H:%M:%S"),
                f.outcome.value + (" (manual)" if f.manual else ""),
                f.job_id or "-",
                f.job_status.value if f.job_status else "-",
                f.reason or "",
            )
            for f in history
        ],
    )


@app.command("add", no_args_is_help=True)
def add(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Unique name, e.g. nightly-sync.")],
    job_type: Annotated[str, typer.Argument(metavar="TYPE", help="Job type, e.g. sync-rss.")],
    cron: Annotated[
        str, typer.Argument(metavar="CRON", help='"*/5 * * * *"; 6 fields = seconds last; @hourly, @daily...')
    ],
    fields: Annotated[
        list[str] | None,
        typer.Argument(metavar="KEY=VALUE...", help="Payload fields: key=value (string) or key:=<json>."),
    ] = None,
    payload: Annotated[str | None, typer.Option("--payload", help="Payload as JSON, or @file.json.")] = None,
    org: Annotated[str | None, typer.Option("--org", help="Organisation (fills organization_id).")] = None,
    queue: Annotated[str | None, typer.Option("--queue", help="Override the type's queue.")] = None,
    tz: Annotated[str, typer.Option("--tz", help="Time zone of the cron (IANA name).")] = "UTC",
    catch_up: Annotated[
        str, typer.Option("--catch-up", help="After downtime: latest (fire the last missed tick) or none.")
    ] = "latest",
    paused: Annotated[bool, typer.Option("--paused", help="Create it paused.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Add a schedule; everything is validated first (cron, zone, type, payload, queue)."""
    from jobctl.cli.parsing import parse_payload

    data = parse_payload(fields or [], payload)
    view = _api().add(
        name, job_type, cron, data, organization_id=org, queue=queue, timezone=tz, catch_up=catch_up,
        enabled=not paused,
    )  # fmt: skip
    if as_json:
        print_json(view.to_json())
        return
    nxt = view.next_runs[0].isoformat() if view.next_runs else "none (paused)"
    sys.stdout.write(f"added schedule {name}: {_plain(view)}; next run {nxt}\n")


def _each(names: list[str], action: Callable[[str], object], verb: str, as_json: bool) -> None:
    """Apply `action` to each name; report each; exit with the first failure's code."""
    results: list[dict[str, object]] = []
    first_error: JobctlError | None = None
    for name in names:
        try:
            action(name)
        except JobctlError as exc:
            first_error = first_error or exc
            results.append({"name": name, "ok": False, "error": exc.message})
            if not as_json:
                error(exc.message)
            continue
        results.append({"name": name, "ok": True})
        if not as_json:
            sys.stdout.write(f"{verb} {name}\n")
    if as_json:
        print_json(results)
    if first_error is not None:
        raise typer.Exit(int(first_error.exit_code))


Names = Annotated[list[str], typer.Argument(metavar="NAME...")]


@app.command("remove", no_args_is_help=True)
def remove(names: Names, as_json: JsonOption = False) -> None:
    """Remove schedules and their tick history (the jobs they made stay)."""
    _each(names, _api().remove, "removed", as_json)


@app.command("pause", no_args_is_help=True)
def pause(names: Names, as_json: JsonOption = False) -> None:
    """Stop firing (a running scheduler notices within a second)."""
    _each(names, _api().pause, "paused", as_json)


@app.command("resume", no_args_is_help=True)
def resume(names: Names, as_json: JsonOption = False) -> None:
    """Fire again from now on (ticks that passed while paused are not caught up)."""
    _each(names, _api().resume, "resumed", as_json)


@app.command("trigger", no_args_is_help=True)
def trigger(name: Annotated[str, typer.Argument(metavar="NAME")], as_json: JsonOption = False) -> None:
    """Fire now, outside the cron: one job per schedule and second, however often it is asked."""
    result = _api().trigger(name)
    if as_json:
        print_json({"job": result.job.to_json(), "deduplicated": result.deduplicated})
        return
    sys.stdout.write(result.job.id + "\n")
    if result.deduplicated:
        info(f"note: {name} already fired this second; that job is {result.job.status.value}")


@app.command("install-defaults")
def install_defaults(
    ping_every: Annotated[
        str, typer.Option("--ping-every", help="Interval of the ping check per queue: 30s, 5m, 1h...")
    ] = "5m",
    as_json: JsonOption = False,
) -> None:
    """Create the default schedules for every owner (a ping per queue, each source's sync, each
    organisation's hourly analytics sync and token refresh); safe to run again."""
    from jobctl.domain.timeparse import parse_duration
    from jobctl.scheduler.defaults import interval_cron

    try:
        every = parse_duration(ping_every)
    except ValueError as exc:
        raise InvalidInputError(f"--ping-every: {exc}") from None
    try:
        cron = interval_cron(every)
    except InvalidInputError as exc:
        raise InvalidInputError(f"--ping-every {ping_every}: {exc.message}") from None
    results = _api().install_defaults({"ping": cron})
    if as_json:
        print_json([r.__dict__ for r in results])
        return
    table(
        None,
        ["NAME", "TEMPLATE", "OWNER", "ACTION"],
        [(r.name, r.template, r.owner, r.action) for r in results],
    )
    for r in results:
        if r.action == "conflict":
            error(f"a schedule named {r.name!r} exists and is not the {r.template} default: left as it is")
