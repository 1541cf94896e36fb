"""Shell completions and the man page, generated from the CLI itself.

`python -m jobctl.cli.reference --write` regenerates `completions/` and `man/jobctl.1` in the
source tree; `--check` exits 1 when they are out of date (a test runs it), so what ships always
describes the commands that exist. The completion scripts call back into `jobctl` (click's
protocol, variable _JOBCTL_COMPLETE), so they complete the options of the installed version.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from jobctl import __version__

PROG = "jobctl"
COMPLETE_VAR = "_JOBCTL_COMPLETE"
SHELLS = {"bash": "completions/jobctl.bash", "zsh": "completions/_jobctl", "fish": "completions/jobctl.fish"}
MAN_PAGE = "man/jobctl.1"

# What each environment variable does (a test checks every JOBCTL_* name in the code is here).
ENVIRONMENT = {
    "JOBCTL_CONFIG": "TOML config file to read (must exist); --config wins over it.",
    "JOBCTL_DATABASE_URL": "sqlite:///PATH or postgresql://... (default: SQLite in the data directory).",
    "JOBCTL_REDIS_URL": "redis://... (default: a private Redis started from the bundled server).",
    "JOBCTL_DATA_DIR": "where the embedded SQLite file and Redis live (default: $XDG_DATA_HOME/jobctl).",
    "JOBCTL_RETRY_INTERVALS": "seconds between attempts, comma-separated (default: 60,300,900).",
    "JOBCTL_LOG_LEVEL": "DEBUG, INFO, WARNING or ERROR (default: INFO).",
    "JOBCTL_HEARTBEAT_SECONDS": "worker heartbeat period (default: 5).",
    "JOBCTL_STALL_SECONDS": "a worker silent this long is dead and its jobs are recovered (default: 15).",
    "JOBCTL_RECONCILE_SECONDS": "how often rows and RQ are reconciled (default: 30).",
    "JOBCTL_STATS_LOG_SECONDS": "how often a worker logs per-queue counts (default: 60).",
    "JOBCTL_REDIS_SERVER_BIN": "the redis-server binary for the embedded Redis (default: the bundled one).",
    "JOBCTL_FETCH_ALLOW_PRIVATE": "1: context fetches may reach loopback/private addresses (default: 0).",
    "JOBCTL_DOCUMENTS_ROOT": "process-document reads local paths only under this directory (default: none).",
    "JOBCTL_LOG_MAX_LINES": "newest log lines kept per job (ctx.log, `jobctl jobs logs`; default: 200).",
    "JOBCTL_LOG_MAX_BYTES": "bytes of log lines kept per job, the newest (default: 65536).",
    "JOBCTL_LOG_TTL_SECONDS": "a job's progress and log lines expire after this (default: 604800, a week).",
    "JOBCTL_MAX_DEFERRALS": "times a job may wait for a rate limit without spending a retry (default: 50).",
    "JOBCTL_CONTENT_API_URL": "OpenAI-compatible base URL (.../v1) for generate-content (default: offline).",
    "JOBCTL_CONTENT_MODEL": "the chat-completions model generate-content asks for (default: gpt-4o-mini).",
    "JOBCTL_CONTENT_API_KEY": "bearer key of that endpoint (never logged or shown; default: none).",
    "JOBCTL_CONTENT_TIMEOUT_SECONDS": "one job's total deadline for it, retries included (default: 120).",
    "JOBCTL_IMAGE_API_URL": "OpenAI-compatible base URL (.../v1) for generate-image (default: offline).",
    "JOBCTL_IMAGE_MODEL": "the images model generate-image asks for (default: gpt-image-1).",
    "JOBCTL_IMAGE_API_KEY": "bearer key of the images endpoint (never logged or shown; default: none).",
    "JOBCTL_X_API_URL": "X API v2 base URL for publish-content (default: https://api.x.com).",
    "JOBCTL_LINKEDIN_API_URL": "LinkedIn API base URL (default: https://api.linkedin.com).",
    "JOBCTL_FACEBOOK_API_URL": "Facebook Graph API base URL (default: https://graph.facebook.com/v21.0).",
    "JOBCTL_INSTAGRAM_API_URL": "Instagram Graph API base URL (default: https://graph.facebook.com/v21.0).",
    "JOBCTL_THREADS_API_URL": "Threads API base URL (default: https://graph.threads.net/v1.0).",
    "JOBCTL_PUBLISH_TIMEOUT_SECONDS": "publish-content: deadline of one platform operation (default: 30).",
    "JOBCTL_PUBLISH_MEDIA_URL": "Public URL of data dir images/ (Instagram, Threads need it; default: none).",
    "JOBCTL_ANALYTICS_LOOKBACK_DAYS": "sync-analytics: collect posts of the last N days (default: 30).",
    "JOBCTL_ANALYTICS_MAX_POSTS": "sync-analytics: most posts collected per account and sync (default: 200).",
    "JOBCTL_ACCOUNT_ACCESS_TOKEN": "accounts add/reconnect --token-env default: the access token's variable.",
    "JOBCTL_ACCOUNT_REFRESH_TOKEN": "accounts add/reconnect: the refresh token's variable (optional).",
    "JOBCTL_TOKEN_KEYS": "Fernet keys encrypting account tokens at rest, comma-separated, newest first "
    "(`jobctl accounts new-key`; never shown; default: none).",
    "JOBCTL_X_CLIENT_ID": "refresh-token: the X app's OAuth 2.0 client id.",
    "JOBCTL_X_CLIENT_SECRET": "refresh-token: the X app's client secret (confidential clients; never shown).",
    "JOBCTL_LINKEDIN_CLIENT_ID": "refresh-token: the LinkedIn app's client id.",
    "JOBCTL_LINKEDIN_CLIENT_SECRET": "refresh-token: the LinkedIn app's client secret (never shown).",
    "JOBCTL_META_APP_ID": "refresh-token: the Meta app id (Facebook, Instagram via Facebook Login).",
    "JOBCTL_META_APP_SECRET": "refresh-token: the Meta app secret (never shown).",
    "JOBCTL_X_TOKEN_URL": "X token endpoint (default: https://api.x.com/2/oauth2/token).",
    "JOBCTL_LINKEDIN_TOKEN_URL": "LinkedIn token endpoint (default: https://www.linkedin.com/oauth/v2/accessToken).",
    "JOBCTL_FACEBOOK_TOKEN_URL": "Facebook token endpoint (default: https://graph.facebook.com/v21.0/oauth/access_token).",
    "JOBCTL_INSTAGRAM_TOKEN_URL": "Instagram token endpoint (default: depends on the grant).",
    "JOBCTL_THREADS_TOKEN_URL": "Threads token endpoint (default: https://graph.threads.net/refresh_access_token).",
    "JOBCTL_INSTAGRAM_TOKEN_GRANT": "Instagram refresh: fb_exchange_token (default) or ig_refresh_token.",
    "JOBCTL_TOKEN_REFRESH_WINDOW_SECONDS": "refresh-token: refresh what expires within it (default: 86400).",
    "JOBCTL_API_RATE_LIMIT": "jobctl api: requests per organisation per window (default: 600; 0: off).",
    "JOBCTL_API_RATE_WINDOW": "jobctl api: the rate-limit window in seconds, counted in Redis (default: 60).",
    "JOBCTL_DEBUG": "1: print the traceback of an internal error.",
}

EXIT_STATUS = {
    0: "success",
    1: "unexpected internal error; check: a check failed (its one-line reason is on stdout)",
    2: "usage error (unknown option, missing argument)",
    3: "invalid input: payload, key=value, duration, time, job id, queue; source kind, URL or path, "
    "a refused address",
    4: "unknown job id, source id, item id, social account id, schedule name or token id",
    5: "unknown job type, or a type whose processor is not installed",
    6: "the organisation's active-job limit is reached",
    7: "Redis unreachable",
    8: "database unreachable, or its schema needs `jobctl db upgrade`",
    9: "--wait / ping: the job ended FAILED or CANCELLED; jobs wait: a job FAILED",
    10: "--wait / ping / jobs wait: a job did not finish in time",
    11: "the action does not apply to the job's status",
    12: "bad configuration file or value; jobctl api: the address cannot be listened on",
    13: "worker: stopped by a second signal or an expired grace period",
    14: "doctor: at least one check failed (warnings alone exit 0)",
    15: "sources preview: the URL could not be fetched, or is not a page or feed",
    16: "jobs wait: a job ended CANCELLED (and none FAILED or unfinished)",
    17: "jobs purge / retry --all-failed: not confirmed (declined, or no terminal and no --yes); "
    "nothing changed",
    130: "interrupted",
}


def completion_script(shell: str) -> str:
    from typer._completion_shared import get_completion_script

    return get_completion_script(prog_name=PROG, complete_var=COMPLETE_VAR, shell=shell).rstrip() + "\n"


def man_page() -> str:
    """The man page (roff), from the command tree: every command, argument and option."""
    import typer.main

    from jobctl.cli.app import app

    root = typer.main.get_command(app)
    ctx = root.make_context(PROG, [], resilient_parsing=True)
    out = [
        f'.TH JOBCTL 1 "" "jobctl {__version__}" "User Commands"',
        ".SH NAME",
        f"jobctl \\- {_roff(root.help or '')}",
        ".SH SYNOPSIS",
        f".B jobctl\n{_roff(' '.join(root.collect_usage_pieces(ctx)))}",
        ".SH OPTIONS",
        *_options(root, ctx),
        ".SH COMMANDS",
    ]
    for path, command, sub_ctx in _walk(root, ctx, PROG):
        out.append(f".SS {_roff(path)}")
        out.append(f".B {_roff(path)}\n{_roff(' '.join(command.collect_usage_pieces(sub_ctx)))}")
        if command.help:
            out.append(".PP\n" + _roff(command.help.strip()))
        out.extend(_options(command, sub_ctx))
    out.append(".SH EXIT STATUS")
    for code, meaning in EXIT_STATUS.items():
        out.append(f".TP\n.B {code}\n{_roff(meaning)}")
    out.append(".SH ENVIRONMENT")
    for name, meaning in ENVIRONMENT.items():
        out.append(f".TP\n.B {name}\n{_roff(meaning)}")
    out += [
        ".SH FILES",
        ".TP\n.I $XDG_CONFIG_HOME/jobctl/config.toml\nthe config file (environment variables win over it)",
        ".TP\n.I $XDG_DATA_HOME/jobctl/\nthe embedded SQLite database and Redis data",
    ]
    return "\n".join(out) + "\n"


def _walk(command: Any, ctx: Any, path: str) -> list[tuple[str, Any, Any]]:
    found = []
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        if sub.hidden:
            continue
        sub_path = f"{path} {name}"
        sub_ctx = sub.make_context(sub_path, [], parent=ctx, resilient_parsing=True)
        if getattr(sub, "commands", None):
            found += _walk(sub, sub_ctx, sub_path)
        else:
            found.append((sub_path, sub, sub_ctx))
    return found


def _options(command: Any, ctx: Any) -> list[str]:
    lines = []
    for param in command.params:
        if getattr(param, "hidden", False) or param.name in ("install_completion", "show_completion"):
            continue
        record = param.get_help_record(ctx)
        if record is not None:
            lines.append(f".TP\n.B {_roff(record[0])}\n{_roff(record[1])}")
    return lines


def _roff(text: str) -> str:
    """Text safe in roff: backslashes escaped, dashes literal, no line starting a request."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join("\\&" + line if line.startswith((".", "'")) else line for line in text.splitlines())


def generated() -> dict[str, str]:
    files = {path: completion_script(shell) for shell, path in SHELLS.items()}
    files[MAN_PAGE] = man_page()
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobctl.cli.reference", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="source tree (default: .)")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="regenerate the files")
    action.add_argument("--check", action="store_true", help="exit 1 if a file is out of date")
    args = parser.parse_args(argv)
    stale = []
    for path, text in generated().items():
        target = args.root / path
        if args.write:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        elif not target.exists() or target.read_text() != text:
            stale.append(path)
    for path in stale:
        print(f"out of date: {path} (run: python -m jobctl.cli.reference --write)", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
