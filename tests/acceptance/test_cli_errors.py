"""Bad input: one line on stderr, a documented exit code, no traceback, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import Cli, base_env

from jobctl.domain.errors import ExitCode

Q = "context-scraping"

CASES = [
    (["enqueue", "make-coffee"], ExitCode.UNKNOWN_TYPE, "unknown job type 'make-coffee'"),
    # (A built-in type without a processor, exit 5, is tested in-process with a bare registry:
    # tests/integration/test_lifecycle.py; every built-in type has one now.)
    (["enqueue", "ping", "sleep_s=abc", "--queue", Q], ExitCode.INVALID_INPUT, "sleep_s"),
    (["enqueue", "ping", "sleep_s:=999", "--queue", Q], ExitCode.INVALID_INPUT, "sleep_s"),
    (["enqueue", "ping", "colour=red", "--queue", Q], ExitCode.INVALID_INPUT, "colour"),
    (["enqueue", "ping", "--queue", "nope"], ExitCode.INVALID_INPUT, "unknown queue 'nope'"),
    (["enqueue", "ping"], ExitCode.INVALID_INPUT, "--queue"),
    (["enqueue", "ping", "novalue", "--queue", Q], ExitCode.INVALID_INPUT, "key=value"),
    (["enqueue", "ping", "--queue", Q, "--in", "10x"], ExitCode.INVALID_INPUT, "not a duration"),
    (["enqueue", "ping", "--queue", Q, "--at", "tomorrow"], ExitCode.INVALID_INPUT, "ISO 8601"),
    (["enqueue", "ping", "--queue", Q, "--id", "bad id!"], ExitCode.INVALID_INPUT, "invalid job id"),
    (["enqueue", "ping", "--queue", Q, "--payload", "{bad"], ExitCode.INVALID_INPUT, "not valid JSON"),
    (
        ["enqueue", "ping", "--queue", Q, "--payload", "@/nonexistent.json"],
        ExitCode.INVALID_INPUT,
        "cannot read",
    ),
    (["jobs", "show", "no-such-job"], ExitCode.NOT_FOUND, "no job with id 'no-such-job'"),
    (["jobs", "cancel", "no-such-job"], ExitCode.NOT_FOUND, "no job with id"),
    (["jobs", "retry", "no-such-job"], ExitCode.NOT_FOUND, "no job with id"),
    (["jobs", "list", "--status", "done"], ExitCode.INVALID_INPUT, "unknown status 'done'"),
    (["jobs", "list", "--since", "yesterday"], ExitCode.INVALID_INPUT, "ISO 8601"),
    (["jobs", "list", "--type", "make-coffee"], ExitCode.UNKNOWN_TYPE, "unknown job type"),
    (["worker", "--queue", "nope", "--burst"], ExitCode.INVALID_INPUT, "unknown queue 'nope'"),
]


def test_bad_input_is_one_clear_line(cli: Cli) -> None:
    for args, code, needle in CASES:
        out = cli.run(*args)
        assert out.returncode == code, (args, out.returncode, out.stderr)
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, out.stderr)
        assert needle in lines[0], (args, lines[0])
        assert "Traceback" not in out.stderr and out.stdout == "", args
    listed = cli.json("jobs", "list", "--json")
    assert listed == []  # none of the bad commands wrote a job


def test_usage_errors_exit_2(cli: Cli) -> None:
    out = cli.run("jobs", "show")
    assert out.returncode == ExitCode.USAGE and "Traceback" not in out.stderr
    out = cli.run("jobs", "list", "--limit", "0")
    assert out.returncode == ExitCode.USAGE


def test_cancel_a_finished_job_is_an_invalid_state(cli: Cli) -> None:
    job_id = cli.run("enqueue", "ping", "--queue", Q).stdout.strip()
    assert cli.run("jobs", "cancel", job_id).returncode == 0
    out = cli.run("jobs", "cancel", job_id)
    assert out.returncode == ExitCode.INVALID_STATE and "only PENDING or RUNNING" in out.stderr
    out = cli.run("jobs", "retry", job_id, "no-such-job", "--json")
    assert out.returncode == ExitCode.NOT_FOUND  # the first failure's code...
    import json

    results = json.loads(out.stdout)  # ...and a result for every id
    assert [r["ok"] for r in results] == [True, False]


@pytest.mark.parametrize(
    ("variable", "url", "command", "code"),
    [
        (
            "JOBCTL_DATABASE_URL",
            "postgresql://app:s3cr3tpw@127.0.0.1:1/x",
            ["jobs", "list"],
            ExitCode.DATABASE_UNAVAILABLE,
        ),
        ("JOBCTL_REDIS_URL", "redis://:s3cr3tpw@127.0.0.1:1/0", ["queues"], ExitCode.REDIS_UNAVAILABLE),
        (
            "JOBCTL_REDIS_URL",
            "redis://:s3cr3tpw@127.0.0.1:1/0",
            ["enqueue", "ping", "--queue", Q],
            ExitCode.REDIS_UNAVAILABLE,
        ),
    ],
)
def test_unreachable_backends_are_named_with_masked_urls(
    tmp_path: Path, variable: str, url: str, command: list[str], code: int
) -> None:
    env = base_env(tmp_path)
    env[variable] = url
    out = Cli(env).run(*command)
    assert out.returncode == code, out.stderr
    assert "s3cr3tpw" not in out.stderr + out.stdout
    assert "***@127.0.0.1:1" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    if "enqueue" in command:  # Redis is checked before the row is written: nothing half-done
        env.pop(variable)
        assert Cli(env).json("jobs", "list", "--json") == []
        Cli(env).run("redis", "stop")


def test_bad_config_file(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    cfg = tmp_path / "bad.toml"
    cfg.write_text('redis_url = "redis://:pw-in-config@h:1/0"\nretry_intervals = "soon"\n')
    out = Cli(env).run("--config", str(cfg), "jobs", "list")
    assert out.returncode == ExitCode.CONFIG and "retry_intervals" in out.stderr
    assert "pw-in-config" not in out.stderr
    out = Cli(env).run("--config", str(tmp_path / "missing.toml"), "jobs", "list")
    assert out.returncode == ExitCode.CONFIG
