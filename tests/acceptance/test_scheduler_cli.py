"""`jobctl schedules …` and `jobctl scheduler --once` end to end: validation with one-line errors
and exit codes, list/show/pause/resume/trigger/remove, install-defaults, JSON documents."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import Cli, base_env

from jobctl.domain.errors import ExitCode

Q = "context-scraping"


@pytest.fixture
def sqlite_cli(sqlite_url: str, redis_url: str, tmp_path: Path) -> Iterator[Cli]:
    """The CLI on SQLite only: for checks that do not depend on the database backend."""
    env = base_env(tmp_path)
    env.update({"JOBCTL_DATABASE_URL": sqlite_url, "JOBCTL_REDIS_URL": redis_url})
    c = Cli(env)
    assert c.run("db", "upgrade").returncode == 0
    try:
        yield c
    finally:
        c.stop_all()


BAD_SCHEDULES: list[tuple[tuple[str, ...], int, str]] = [
    (("61 * * * *", "--queue", Q), ExitCode.INVALID_INPUT, "invalid cron expression '61 * * * *'"),
    (("* * *", "--queue", Q), ExitCode.INVALID_INPUT, "use 5 fields"),
    (("0 0 30 2 *", "--queue", Q), ExitCode.INVALID_INPUT, "never fires"),
    (("* * * * *", "--queue", Q, "--tz", "Mars/Base"), ExitCode.INVALID_INPUT, "unknown time zone"),
    (("* * * * *", "--queue", Q, "sleep_s=900"), ExitCode.INVALID_INPUT, "sleep_s: Input should"),
    (("* * * * *",), ExitCode.INVALID_INPUT, "runs on any queue: name one with --queue"),
    (("* * * * *", "--queue", Q, "--catch-up", "all"), ExitCode.INVALID_INPUT, "catch-up policy"),
]


def test_bad_schedules_are_refused_in_one_line(sqlite_cli: Cli) -> None:
    cases = [(("bad", "ping", *args), code, msg) for args, code, msg in BAD_SCHEDULES] + [
        (("bad", "nope", "* * * * *"), ExitCode.UNKNOWN_TYPE, "unknown job type 'nope'"),
        (("bad name", "ping", "* * * * *", "--queue", Q), ExitCode.INVALID_INPUT, "invalid schedule name"),
    ]
    for args, code, message in cases:
        out = sqlite_cli.run("schedules", "add", *args)
        assert out.returncode == code, (args, out.stderr)
        assert message in out.stderr and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert sqlite_cli.json("schedules", "list", "--json") == []


def test_schedule_life_cycle(sqlite_cli: Cli) -> None:
    cli = sqlite_cli
    out = cli.run(
        "schedules",
        "add",
        "nightly",
        "ping",
        "0 3 * * 1-5",
        "sleep_s=1",
        "--queue",
        Q,
        "--tz",
        "Europe/Berlin",
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(
        "added schedule nightly: every Monday to Friday at 03:00 (Europe/Berlin); next run"
    )
    text = cli.run("schedules", "list").stdout
    assert "every Monday to Friday at 03:00 (Europe/Berlin)" in text and "enabled" in text
    first = cli.json("schedules", "trigger", "nightly", "--json")
    shown = cli.json("schedules", "show", "nightly", "--json")
    sid = shown["schedule"]["id"]
    assert first["job"]["id"].startswith(f"ping-{sid}-") and first["job"]["schedule_id"] == sid
    assert shown["schedule"]["last_job_id"] == first["job"]["id"] and len(shown["schedule"]["next_runs"]) == 3
    assert [(h["outcome"], h["manual"]) for h in shown["history"]] == [("enqueued", True)]
    assert cli.run("schedules", "pause", "nightly").stdout == "paused nightly\n"
    paused = cli.json("schedules", "list", "--json")[0]
    assert paused["enabled"] is False and paused["next_runs"] == []
    assert cli.run("schedules", "resume", "nightly").returncode == 0
    out = cli.run("schedules", "remove", "nightly", "ghost")
    assert out.returncode == ExitCode.NOT_FOUND and out.stdout == "removed nightly\n"
    assert "no schedule named 'ghost'" in out.stderr
    job = cli.json("jobs", "show", first["job"]["id"], "--json")  # the jobs a schedule made stay
    assert job["schedule_id"] == sid


def test_install_defaults_is_idempotent(sqlite_cli: Cli) -> None:
    cli = sqlite_cli
    out = cli.json("schedules", "install-defaults", "--ping-every", "5m", "--json")
    assert sorted((r["name"], r["action"]) for r in out) == [
        (f"ping:{q}", "created") for q in ("analytics-sync", "content-generation", "context-scraping")
    ]
    again = cli.json("schedules", "install-defaults", "--ping-every", "5m", "--json")
    assert {r["action"] for r in again} == {"unchanged"}
    faster = cli.json("schedules", "install-defaults", "--ping-every", "1m", "--json")
    assert {r["action"] for r in faster} == {"updated"}
    listed = cli.json("schedules", "list", "--json")
    assert {(s["cron"], s["queue"], s["template"], s["catch_up"]) for s in listed} == {
        ("* * * * *", q, "ping", "none") for q in ("analytics-sync", "content-generation", "context-scraping")
    }
    bad = cli.run("schedules", "install-defaults", "--ping-every", "7m")
    assert bad.returncode == ExitCode.INVALID_INPUT and "--ping-every 7m: an interval of 420 s" in bad.stderr


def test_scheduler_once_fires_what_is_due(sqlite_cli: Cli) -> None:
    cli = sqlite_cli
    assert cli.run("schedules", "add", "often", "ping", "* * * * * *", "--queue", Q).returncode == 0
    time.sleep(1.1)  # at least one tick passes
    out = cli.run("scheduler", "--once", "--log-json")
    assert out.returncode == 0, out.stderr
    events = [json.loads(line).get("event") for line in out.stderr.splitlines() if line.startswith("{")]
    assert "scheduler-lead" in events and "schedule-fire" in events and "scheduler-health" in events
    shown = cli.json("schedules", "show", "often", "--json")
    assert [h["outcome"] for h in shown["history"]] == ["enqueued"]
    assert cli.run("scheduler", "--lease", "0s").returncode == ExitCode.INVALID_INPUT
    assert cli.run("schedules", "show", "nope").returncode == ExitCode.NOT_FOUND
