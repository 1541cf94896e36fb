"""Shell completions, the man page and the README's configuration reference, generated from the
CLI and the settings themselves.

`python -m jobctl.cli.reference --write` regenerates `completions/`, `man/jobctl.1` and the
README's configuration section (between its `config-reference` markers, from
jobctl.settings_catalog) in the source tree; `--check` exits 1 when any is out of date (a test
runs it), so what ships always describes the commands and settings that exist. The completion
scripts call back into `jobctl` (click's protocol, variable _JOBCTL_COMPLETE), so they complete
the options of the installed version.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from jobctl import __version__, settings_catalog
from jobctl.http.config import HttpConfig

PROG = "jobctl"
COMPLETE_VAR = "_JOBCTL_COMPLETE"
SHELLS = {"bash": "completions/jobctl.bash", "zsh": "completions/_jobctl", "fish": "completions/jobctl.fish"}
MAN_PAGE = "man/jobctl.1"

# Environment variables that are not settings of the config file; the settings' variables, with
# their meaning and default, come from jobctl.settings_catalog (a test checks that every JOBCTL_*
# name in the code is in ENVIRONMENT).
OTHER_ENVIRONMENT = {
    "JOBCTL_CONFIG": "TOML config file to read (must exist); --config wins over it.",
    "JOBCTL_REDIS_SERVER_BIN": "the redis-server binary for the embedded Redis (default: the bundled one).",
    "JOBCTL_ACCOUNT_ACCESS_TOKEN": "accounts add/reconnect --token-env default: the access token's variable.",
    "JOBCTL_ACCOUNT_REFRESH_TOKEN": "accounts add/reconnect: the refresh token's variable (optional).",
    "JOBCTL_API_RATE_LIMIT": "jobctl api: requests per organisation per window "
    f"(default: {HttpConfig().rate_limit}; 0: off).",
    "JOBCTL_API_RATE_WINDOW": "jobctl api: the rate-limit window in seconds, counted in Redis "
    f"(default: {HttpConfig().rate_window_s}).",
    "JOBCTL_DEBUG": "1: print the traceback of an internal error.",
}


def setting_environment() -> dict[str, str]:
    """Each setting's variable -> its meaning and default (secrets: never shown)."""
    variables = settings_catalog.sources()
    out = {}
    for doc in settings_catalog.SETTINGS:
        variable = variables.get(doc.source_name)
        if variable is not None and variable not in out:
            default = settings_catalog.default_text(doc)
            out[variable] = f"{doc.meaning} (config: {doc.key}; default: {default})."
    return out


ENVIRONMENT = {
    "JOBCTL_CONFIG": OTHER_ENVIRONMENT["JOBCTL_CONFIG"],
    **setting_environment(),
    **OTHER_ENVIRONMENT,
}

README = "README.md"
CONFIG_START = "<!-- config-reference:start -->"
CONFIG_END = "<!-- config-reference:end -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def config_reference() -> str:
    """The README's configuration reference (markdown), between its markers."""
    variables = settings_catalog.sources()
    lines = [
        CONFIG_START,
        "<!-- generated from jobctl/settings_catalog.py by `python -m jobctl.cli.reference --write`: "
        "edit there, not here -->",
        "",
        "| config file key | environment | type | default | meaning |",
        "|---|---|---|---|---|",
    ]
    for doc in settings_catalog.SETTINGS:
        variable = variables.get(doc.source_name)
        env = f"`{variable}`" if variable else "(file only)"
        cells = (f"`{doc.key}`", env, doc.type, settings_catalog.default_text(doc), doc.meaning)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    lines += ["", "Environment variables that are not in the config file:", ""]
    lines += ["| environment | meaning |", "|---|---|"]
    lines += [f"| `{name}` | {_cell(meaning)} |" for name, meaning in OTHER_ENVIRONMENT.items()]
    lines.append(CONFIG_END)
    return "\n".join(lines)


def with_config_reference(readme: str) -> str:
    """`readme` with the text between the markers replaced (ValueError: markers missing)."""
    start, end = readme.find(CONFIG_START), readme.find(CONFIG_END)
    if start < 0 or end < start:
        raise ValueError(f"{README} has no {CONFIG_START} ... {CONFIG_END} section")
    return readme[:start] + config_reference() + readme[end + len(CONFIG_END) :]


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
    readme = args.root / README
    if readme.exists():  # a scratch --root (the tests) may have none
        text = readme.read_text()
        try:
            current = with_config_reference(text)
        except ValueError as exc:
            print(f"out of date: {exc}", file=sys.stderr)
            return 1
        if args.write:
            readme.write_text(current)
        elif current != text:
            stale.append(f"{README} (configuration reference)")
    for path in stale:
        print(f"out of date: {path} (run: python -m jobctl.cli.reference --write)", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
