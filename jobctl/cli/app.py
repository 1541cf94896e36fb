"""Root of the CLI: global options, command groups joined with add_typer, error reporting.

Every JobctlError becomes one line on stderr and its documented exit code (see
jobctl.domain.errors.ExitCode); nothing prints a traceback unless JOBCTL_DEBUG=1.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from jobctl import __version__
from jobctl.cli import (
    accounts,
    analytics,
    api_cmd,
    audit,
    check,
    content,
    db,
    demo,
    doctor,
    enqueue,
    events,
    items,
    jobs,
    learnings,
    orgs,
    queues,
    redis_cmd,
    scheduler,
    schedules,
    sources,
    tokens,
    top,
    worker,
)
from jobctl.cli.context import STATE
from jobctl.cli.output import error
from jobctl.domain.errors import ExitCode, JobctlError

app = typer.Typer(
    name="jobctl",
    help="Run and watch the content platform's background jobs (RQ + Redis + a SQL Job table).",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"jobctl {__version__}\n")
        raise typer.Exit()


@app.callback()
def root(
    config: Annotated[
        Path | None,
        typer.Option("--config", help="TOML config file (default: $XDG_CONFIG_HOME/jobctl/config.toml)."),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    STATE.config_path = config
    STATE._settings = None
    STATE._api = None


enqueue.register(app)
worker.register(app)
queues.register(app)
events.register(app)
top.register(app)
app.add_typer(jobs.app, name="jobs")
app.add_typer(schedules.app, name="schedules")
app.add_typer(sources.app, name="sources")
app.add_typer(items.app, name="items")
app.add_typer(orgs.app, name="orgs")
app.add_typer(content.app, name="content")
app.add_typer(content.images_app, name="images")
app.add_typer(accounts.app, name="accounts")
app.add_typer(analytics.app, name="analytics")
scheduler.register(app)
app.add_typer(db.app, name="db")
app.add_typer(redis_cmd.app, name="redis")
demo.register(app)
doctor.register(app)
check.register(app)
api_cmd.register(app)
learnings.register(app)
app.add_typer(tokens.app, name="tokens")
app.add_typer(audit.app, name="audit")


def main() -> None:
    """Console entry point: run the app, map errors to exit codes."""
    code: int = 0
    try:
        # standalone_mode=False: click returns Exit codes instead of calling sys.exit, and raises
        # everything else here, where it is reported in one line.
        rv = app(standalone_mode=False)
        code = rv if isinstance(rv, int) else 0
    except JobctlError as exc:
        error(exc.message)
        code = exc.exit_code
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        error("aborted")
        code = ExitCode.INTERRUPTED
    except KeyboardInterrupt:
        error("interrupted")
        code = ExitCode.INTERRUPTED
    except Exception as exc:
        code = _usage_or_internal(exc)
    finally:
        STATE.close()
    sys.exit(code)


def _usage_or_internal(exc: Exception) -> int:
    from typer._click.exceptions import ClickException  # vendored click inside typer

    if isinstance(exc, ClickException):
        exc.show()
        return exc.exit_code
    if os.environ.get("JOBCTL_DEBUG") == "1":
        raise exc
    error(f"internal error: {type(exc).__name__}: {exc} (set JOBCTL_DEBUG=1 for the traceback)")
    return ExitCode.FAILURE
