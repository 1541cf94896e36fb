"""`jobctl sources add | list | show | enable | disable | remove | sync | preview`.

Context sources are the websites, feeds and documents an organisation's context items come
from. Each source gets a default sync schedule (every 6 hours, staggered by a hash of its id)
when it is added; it is paused while the source is UNHEALTHY or DISABLED and removed with it.
Errors are JobctlErrors: one line on stderr and the exit code of jobctl.domain.errors.ExitCode
(unknown id 4, bad kind / URL / path / unsafe URL 3, a preview whose fetch failed 15).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from jobctl.cli.context import STATE
from jobctl.cli.output import age, info, print_json, table

if TYPE_CHECKING:
    from jobctl.api.context import ContextAPI
    from jobctl.domain.context import SourceRecord

app = typer.Typer(
    help="Context sources (websites, RSS/Atom/JSON feeds, documents): add, list, sync, preview.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
SourceId = Annotated[str, typer.Argument(metavar="ID", help="Source id (src_...).")]


def _api() -> ContextAPI:
    from jobctl.api.context import ContextAPI

    return ContextAPI(STATE.api)


@app.command("add", no_args_is_help=True)
def add(
    kind: Annotated[str, typer.Argument(metavar="KIND", help="rss, website or document.")],
    target: Annotated[
        str,
        typer.Argument(
            metavar="URL-OR-PATH",
            help="An http(s) URL; for a document also a path under the documents root "
            "(a relative path is taken relative to that root).",
        ),
    ],
    org: Annotated[str, typer.Option("--org", help="Organisation the source belongs to.")],
    name: Annotated[str | None, typer.Option("--name", help="A name to show instead of the URL.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Add a source and its 6-hourly sync schedule; print its id. The same URL added again to
    the same organisation prints the existing id (exit 0)."""
    result = _api().add(kind, target, org, name)
    if as_json:
        print_json({"source": result.source.to_json(), "created": result.created})
        return
    sys.stdout.write(result.source.id + "\n")
    if not result.created:
        existing = result.source
        info(
            f"note: {existing.organization_id} already has this URL as a {existing.kind.value.lower()} "
            f"source ({existing.status.value}); nothing added"
        )


def _label(source: SourceRecord) -> str:
    return source.name or source.url


@app.command("list")
def list_sources(
    org: Annotated[str | None, typer.Option("--org", help="Only this organisation's sources.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="active, unhealthy or disabled.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Sources by organisation: kind, status, consecutive failures, last success, last error."""
    sources = _api().list_sources(organization_id=org, status=status)
    if as_json:
        print_json([s.to_json() for s in sources])
        return
    if not sources:
        info("no sources match (add one with `jobctl sources add rss URL --org ORG`)")
        return
    table(
        None,
        ["ID", "ORG", "KIND", "STATUS", "FAILS", "LAST OK", "SOURCE", "LAST ERROR"],
        [
            (
                s.id,
                s.organization_id,
                s.kind.value.lower(),
                s.status.value,
                s.consecutive_failures,
                f"{age(s.last_success_at)} ago" if s.last_success_at else "never",
                _label(s),
                (s.last_error or "")[:60] if s.consecutive_failures or s.status.value != "ACTIVE" else "",
            )
            for s in sources
        ],
    )


@app.command("show", no_args_is_help=True)
def show(source_id: SourceId, as_json: JsonOption = False) -> None:
    """One source: its URL or path, health, validators, item count and schedules."""
    detail = _api().show(source_id)
    if as_json:
        print_json(detail.to_json())
        return
    s, out = detail.source, sys.stdout

    def when(value: object) -> str:
        return value.isoformat() if hasattr(value, "isoformat") else "-"

    pairs = [
        ("id", s.id), ("organization", s.organization_id), ("kind", s.kind.value.lower()),
        ("url", s.url), ("name", s.name or "-"), ("status", s.status.value),
        ("failures", f"{s.consecutive_failures} in a row (UNHEALTHY at 5)"),
        ("last success", when(s.last_success_at)), ("last failure", when(s.last_failure_at)),
        ("last error", s.last_error or "-"), ("etag", s.etag or "-"),
        ("last modified", s.last_modified or "-"), ("items", detail.item_count),
        ("created", when(s.created_at)), ("updated", when(s.updated_at)),
    ]  # fmt: skip
    for key, value in pairs:
        out.write(f"{key:>14}: {value}\n")
    for sched in detail.schedules:
        state = "enabled" if sched["enabled"] else "paused"
        out.write(f"{'schedule':>14}: {sched['name']} ({sched['job_type']}, cron {sched['cron']}, {state})\n")
    if not detail.schedules:
        out.write(f"{'schedule':>14}: none (`jobctl schedules install-defaults` recreates it)\n")


@app.command("enable", no_args_is_help=True)
def enable(source_id: SourceId) -> None:
    """ACTIVE again: the failure count resets and its schedule resumes (also for UNHEALTHY)."""
    from jobctl.domain.context import SourceStatus

    source = _api().set_status(source_id, SourceStatus.ACTIVE)
    sys.stdout.write(f"enabled {source.id}\n")


@app.command("disable", no_args_is_help=True)
def disable(source_id: SourceId) -> None:
    """DISABLED: its schedule pauses and `sources sync` refuses it until it is enabled."""
    from jobctl.domain.context import SourceStatus

    source = _api().set_status(source_id, SourceStatus.DISABLED)
    sys.stdout.write(f"disabled {source.id}\n")


@app.command("remove", no_args_is_help=True)
def remove(source_id: SourceId) -> None:
    """Delete a source, its items and its schedule (jobs it ran stay in the job table)."""
    source, schedules = _api().remove(source_id)
    also = f" and schedule {', '.join(schedules)}" if schedules else ""
    sys.stdout.write(f"removed {source.id}{also}\n")


@app.command("sync", no_args_is_help=True)
def sync(
    source_id: SourceId,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until the sync job finishes.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds --wait waits.")] = 300.0,
    as_json: JsonOption = False,
) -> None:
    """Enqueue a sync of the source now; print the job id (with --json, the job). --wait exits
    9 when the job ends FAILED, 10 when it does not finish in time."""
    from jobctl.domain.errors import JobctlError

    api = STATE.api
    job = _api().sync(source_id)
    if wait:
        try:
            job = api.wait_for(job.id, timeout)
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


@app.command("preview", no_args_is_help=True)
def preview(
    url: Annotated[str, typer.Argument(metavar="URL")],
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            help="website (an article page) or rss (a feed). Default: website, or rss when the "
            "response's content type is a feed's.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Fetch and extract URL exactly as a sync would, storing nothing. Prints the title, a blank
    line and the main text (a feed: its items' titles); --json adds author, date and a feed's
    items. Private addresses are refused unless allowed ([fetch] allow_private_addresses)."""
    from jobctl.api.context import preview as run_preview

    result = run_preview(STATE.api, url, kind.strip().lower() if kind is not None else None)
    if kind is None and result.get("kind") == "rss":
        info("note: the response is a feed, previewed as --kind rss (--kind website shows it as a page)")
    if as_json:
        print_json(result)
        return
    sys.stdout.write(f"{result.get('title') or ''}\n\n{result.get('text') or ''}\n")
