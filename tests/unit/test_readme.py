"""The README is the operator's guide: every command has an example, every example names only
commands and options the CLI has, and the two set-up one-liners stay what `.ci/run` runs."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import typer

from jobctl.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()

DEMO_LINE = (
    "python3 -m venv .venv && .venv/bin/pip install -U pip && .venv/bin/pip install . "
    "&& .venv/bin/jobctl demo"
)
TEST_LINE = (
    "python3 -m venv .venv && .venv/bin/pip install -U pip && .venv/bin/pip install -e '.[dev]' "
    "&& .venv/bin/python -m pytest"
)


def _is_group(command: Any) -> bool:
    # Typer 0.29 vendors click (typer._click): duck-type the group, not isinstance.
    return hasattr(command, "list_commands")


def command_paths() -> list[str]:
    """`jobctl …` of every visible leaf command, and of every group that runs without a subcommand."""
    found: list[str] = []

    def walk(command: Any, path: str) -> None:
        for name in command.list_commands(typer.Context(command)):
            sub = command.get_command(typer.Context(command), name)
            if sub is None or sub.hidden:
                continue
            if _is_group(sub):
                if getattr(sub, "invoke_without_command", False):
                    found.append(f"{path} {name}")
                walk(sub, f"{path} {name}")
            else:
                found.append(f"{path} {name}")

    walk(typer.main.get_command(app), "jobctl")
    return found


def section(heading: str) -> str:
    """The README's `## heading` section, its subsections included."""
    start = README.index(f"\n## {heading}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end > 0 else None]


def shell_lines(text: str) -> list[str]:
    """The lines of the ```sh blocks in `text`."""
    return [line for block in re.findall(r"```sh\n(.*?)```", text, re.S) for line in block.splitlines()]


def test_every_command_has_an_example_in_the_commands_section() -> None:
    lines = shell_lines(section("Commands"))
    missing = [
        path
        for path in command_paths()
        if not any(re.search(rf"(^|[\s($]){re.escape(path)}(\s|$|\))", line) for line in lines)
    ]
    assert missing == [], (
        "commands with no example line in README.md's '## Commands' section (a ```sh line "
        f"starting `jobctl <group> <command> ...`): {', '.join(missing)}"
    )


def unknown_parts(line: str) -> list[str]:
    """Commands and options of each `jobctl …` in a README shell line that the CLI lacks.

    Placeholders are fine (`ID...`, `[--json]`: brackets are dropped); a word after a leaf
    command is an argument; `|`, `&&`, `;` and `)` end the invocation.
    """
    if "jobctl" not in line:
        return []
    try:
        words = shlex.split(line, comments=True)
    except ValueError:  # an unbalanced quote in prose-like lines
        return [f"unparsable: {line}"]
    problems = []
    for i, word in enumerate(words):
        if not word.removeprefix("$(").endswith("jobctl"):
            continue
        command: Any = typer.main.get_command(app)
        for raw in words[i + 1 :]:
            if raw in ("|", "||", "&&", ";", "&") or raw.startswith(")"):
                break
            arg = raw.strip("[]()")
            if not arg or arg == "|":
                continue
            if arg.startswith("-"):
                known = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
                option = arg.split("=", 1)[0]
                if option not in known and option not in ("--help",):
                    problems.append(f"{command.name}: {option}")
            elif _is_group(command):
                sub = command.get_command(typer.Context(command), arg)
                if sub is None:
                    problems.append(f"{command.name}: {arg}")
                    break
                command = sub
    return problems


def test_readme_examples_name_only_real_commands_and_options() -> None:
    problems = [f"{line.strip()!r}: {p}" for line in shell_lines(README) for p in unknown_parts(line)]
    assert problems == [], "README.md shell examples the CLI does not have:\n" + "\n".join(problems)


def test_unknown_commands_and_options_are_flagged() -> None:
    assert unknown_parts("jobctl jobs lst")
    assert unknown_parts("jobctl worker --queue x --made-up")
    assert unknown_parts("id=$(jobctl nope --org acme)")
    assert not unknown_parts("jobctl jobs list [--status failed] [--json]   # a comment --not-an-option")


def test_the_two_set_up_commands_stay_as_ci_runs_them() -> None:
    quickstart = section("Quickstart")
    assert DEMO_LINE in quickstart and TEST_LINE in quickstart
    assert quickstart.index(DEMO_LINE) < quickstart.index(TEST_LINE)
    assert TEST_LINE in (ROOT / ".ci" / "run").read_text()


def test_the_guide_has_its_sections_in_order() -> None:
    headings = re.findall(r"^## (.+)$", re.sub(r"```.*?```", "", README, flags=re.S), re.M)
    wanted = ["Quickstart", "Concepts", "Commands", "Configuration", "Guarantees", "Scaling out",
              "Troubleshooting", "Deploying", "Benchmarks", "Development"]  # fmt: skip
    assert [h for h in headings if h in wanted] == wanted, headings


def test_no_section_appears_twice() -> None:
    """A merge of two README edits can leave a section in both its old and new place."""
    headings = re.findall(r"^#{2,3} .+$", re.sub(r"```.*?```", "", README, flags=re.S), re.M)
    twice = sorted({h for h in headings if headings.count(h) > 1})
    assert not twice, f"README.md sections that appear twice (a merge left a stale copy?): {twice}"
