"""The deploy files (deploy/, Procfile) run only commands and options the CLI really has, and
keep the stop/migration rules: KillMode=mixed, TimeoutStopSec >= grace, one db upgrade."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from jobctl.cli.app import app
from jobctl.domain.queues import DEFAULT_QUEUES

ROOT = Path(__file__).resolve().parents[2]
SYSTEMD = ROOT / "deploy" / "systemd"


def unknown_parts(command_line: str) -> list[str]:
    """Every `jobctl ...` in a shell line, resolved through the click tree: unknown names."""
    words: list[str] = []
    for word in shlex.split(command_line.replace("&&", " && ")):
        # `sh -c 'jobctl db upgrade && exec jobctl scheduler'`: the quoted script is one word.
        words += shlex.split(word.replace("&&", " && ")) if "jobctl " in word else [word]
    problems: list[str] = []
    for i, word in enumerate(words):
        if not word.endswith("jobctl"):
            continue
        command: Any = typer.main.get_command(app)
        for arg in words[i + 1 :]:
            if arg in ("&&", ";", "|"):
                break
            if arg.startswith("-"):
                known = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
                if arg.split("=", 1)[0] not in known:
                    problems.append(f"{command.name}: {arg}")
            elif hasattr(command, "list_commands"):
                # Typer 0.29 vendors click (typer._click): duck-type the group, not isinstance.
                sub = command.get_command(typer.Context(command), arg)
                if sub is None:
                    problems.append(f"{command.name}: {arg}")
                    break
                command = sub
    return problems


def systemd_units() -> dict[str, configparser.ConfigParser]:
    units = {}
    for path in sorted(SYSTEMD.glob("*.service")):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read(path)
        units[path.name] = parser
    return units


def command_lines() -> list[str]:
    lines = [
        u["Service"][k]
        for u in systemd_units().values()
        for k in ("ExecStart", "ExecStartPre")
        if k in u["Service"]
    ]
    lines += [line.split(":", 1)[1] for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()]
    spec = yaml.safe_load((ROOT / "deploy" / "digitalocean" / "app.yaml").read_text())
    lines += [c["run_command"] for c in spec["services"] + spec["workers"]]
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    lines += [
        shlex.join(s["command"]) for s in compose["services"].values() if "jobctl" in s.get("command", [])
    ]
    return lines


def test_every_jobctl_command_line_is_known_to_the_cli() -> None:
    lines = command_lines()
    assert len(lines) >= 15
    assert [p for line in lines for p in unknown_parts(line)] == []


@pytest.mark.parametrize(
    "line", ["jobctl worker --queue x --made-up", "jobctl nope", "sh -c 'jobctl db upgrad'"]
)
def test_a_made_up_command_or_option_is_flagged(line: str) -> None:
    assert unknown_parts(line)


def test_systemd_stop_rules_and_one_migration() -> None:
    units = systemd_units()
    assert set(units) == {"jobctl-worker@.service", "jobctl-scheduler.service", "jobctl-api.service"}
    for unit in units.values():
        assert unit["Service"]["KillMode"] == "mixed"
        assert unit["Service"]["Restart"] == "on-failure"
    grace = max(q.lock_seconds for q in DEFAULT_QUEUES.values())  # the worker's default --grace
    assert int(units["jobctl-worker@.service"]["Service"]["TimeoutStopSec"]) >= grace
    upgrading = [n for n, u in units.items() if "db upgrade" in u["Service"].get("ExecStartPre", "")]
    assert upgrading == ["jobctl-scheduler.service"]


def test_a_worker_per_queue_at_its_default_concurrency() -> None:
    spec = yaml.safe_load((ROOT / "deploy" / "digitalocean" / "app.yaml").read_text())
    runs = {w["name"]: w["run_command"] for w in spec["workers"]}
    for queue in DEFAULT_QUEUES.values():
        assert f"--queue {queue.name} --concurrency {queue.concurrency}" in runs[f"worker-{queue.name}"]
    assert all(e["type"] == "SECRET" for e in spec["envs"] if e["key"] != "JOBCTL_LOG_LEVEL")


def test_compose_redis_has_aof_and_noeviction() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    redis_cmd = " ".join(compose["services"]["redis"]["command"])
    assert "--appendonly yes" in redis_cmd
    assert "--maxmemory-policy noeviction" in redis_cmd


def test_deploy_files_set_only_variables_jobctl_reads() -> None:
    """A misspelt JOBCTL_* variable would be silently ignored: each must be a documented one."""
    from jobctl.cli.reference import ENVIRONMENT

    files = [ROOT / "Procfile", *sorted((ROOT / "deploy").rglob("*")), *sorted(SYSTEMD.glob("*"))]
    names = {n for f in files if f.is_file() for n in re.findall(r"JOBCTL_[A-Z0-9_]+", f.read_text())}
    assert names, "the deploy files configure jobctl through its environment variables"
    assert sorted(names - set(ENVIRONMENT)) == []
