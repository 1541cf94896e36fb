"""Progress and log lines from inside a job, end to end: a real `jobctl worker` runs pings that
report (`progress_steps`, `log_lines`), and the real CLI reads them back from the real Redis.
Timings are shortened by configuration: heartbeat 0.5 s, the queue's lock 2 s."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from cli_support import Cli, base_env, wait_until

Q = "analytics-sync"
CONFIG = f'[queues."{Q}"]\nconcurrency = 2\nlock_seconds = 2\n'


@pytest.fixture
def cli(sqlite_url: str, redis_url: str, tmp_path: Path) -> Iterator[Cli]:
    env = base_env(tmp_path)
    cfg = tmp_path / "jobctl.toml"
    cfg.write_text(CONFIG)
    env.update(
        {
            "JOBCTL_DATABASE_URL": sqlite_url,
            "JOBCTL_REDIS_URL": redis_url,
            "JOBCTL_CONFIG": str(cfg),
            "JOBCTL_HEARTBEAT_SECONDS": "0.5",
            "JOBCTL_STALL_SECONDS": "2",
            "JOBCTL_RETRY_INTERVALS": "60,300,900",  # only an immediate re-run can explain a 2nd start
        }
    )
    c = Cli(env)
    assert c.run("db", "upgrade").returncode == 0
    try:
        yield c
    finally:
        c.stop_all()


def _row(cli: Cli, job_id: str) -> dict[str, Any]:
    return dict(cli.json("jobs", "show", job_id, "--json"))


def _enqueue(cli: Cli, *fields: str) -> str:
    out = cli.run("enqueue", "ping", *fields, "--queue", Q)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def _events(log: Path, job_id: str) -> list[dict[str, Any]]:
    lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    return [e for e in lines if e.get("job_id") == job_id]


def test_progress_and_lines_show_in_jobs_show_and_jobs_logs(cli: Cli, tmp_path: Path) -> None:
    cli.start_worker(Q, log=tmp_path / "w.log")
    job_id = _enqueue(cli, "sleep_s:=1.5", "progress_steps:=3", "log_lines:=5")
    assert wait_until(lambda: _row(cli, job_id)["status"] == "COMPLETED", timeout=30)

    row = _row(cli, job_id)
    assert row["progress"]["done"] == 3 and row["progress"]["total"] == 3
    assert row["progress"]["fraction"] == 1.0 and row["progress"]["message"] == "step 3 of 3"
    assert row["progress"]["attempt"] == 1 and row["progress"]["updated_at"]
    assert [line["message"] for line in row["logs"]] == [f"ping line {i} of 5" for i in range(1, 6)]
    assert row["logs"][0]["line"] == 1 and row["log_lines_total"] == 5

    text = cli.run("jobs", "show", job_id).stdout
    assert "progress: 3/3 (100%) step 3 of 3" in text
    assert "last 5 of 5 log line(s)" in text and "#1 ping line 5 of 5 line=5" in text

    plain = cli.run("jobs", "logs", job_id)
    assert plain.returncode == 0 and plain.stdout.splitlines()[0].endswith("#1 ping line 1 of 5 line=1")
    as_json = [json.loads(x) for x in cli.run("jobs", "logs", job_id, "--json").stdout.splitlines()]
    assert [x["seq"] for x in as_json] == [1, 2, 3, 4, 5] and as_json[4]["line"] == 5

    missing = cli.run("jobs", "logs", "no-such-job")
    assert missing.returncode != 0 and "no-such-job" in missing.stderr and "Traceback" not in missing.stderr


def test_logs_follow_prints_lines_as_they_come_and_exits_0_when_the_job_ends(
    cli: Cli, tmp_path: Path
) -> None:
    job_id = _enqueue(cli, "sleep_s:=2", "log_lines:=3")  # no worker yet: it is PENDING
    follow = subprocess.Popen(
        [sys.executable, "-m", "jobctl", "jobs", "logs", job_id, "-f"],
        env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        time.sleep(1.0)
        assert follow.poll() is None  # still following a job that has not run
        cli.start_worker(Q, log=tmp_path / "w.log")
        out, err = follow.communicate(timeout=30)
    finally:
        if follow.poll() is None:
            follow.kill()
    assert follow.returncode == 0, err
    assert [line.split(" #1 ", 1)[1] for line in out.splitlines()] == [
        f"ping line {i} of 3 line={i}" for i in range(1, 4)
    ]
    assert _row(cli, job_id)["status"] == "COMPLETED"  # it returned because the job ended


def test_a_chatty_job_stays_within_the_caps_in_redis(cli: Cli, tmp_path: Path, redis_url: str) -> None:
    cli.env.update({"JOBCTL_LOG_MAX_LINES": "50", "JOBCTL_LOG_MAX_BYTES": "4096"})
    cli.start_worker(Q, log=tmp_path / "w.log")
    job_id = _enqueue(cli, "log_lines:=100000")
    assert wait_until(lambda: _row(cli, job_id)["status"] == "COMPLETED", timeout=60)
    conn = redis.Redis.from_url(redis_url)
    entries = conn.lrange(f"jobctl:logs:{job_id}", 0, -1)
    assert 0 < len(entries) <= 50
    assert sum(len(e) for e in entries) <= 4096
    assert 0 < conn.ttl(f"jobctl:logs:{job_id}") <= 7 * 86400
    row = _row(cli, job_id)
    assert row["log_lines_total"] == 100_000
    assert row["logs"][-1]["message"] == "ping line 100000 of 100000"
    assert row["logs"][-1]["seq"] == 100_000
    logs = cli.run("jobs", "logs", job_id)
    assert len(logs.stdout.splitlines()) == len(entries)
    assert f"earlier line(s) not kept: {len(entries)} kept of 100000" in logs.stderr


def test_reporting_progress_keeps_a_blocked_job_from_being_treated_as_hung(cli: Cli, tmp_path: Path) -> None:
    """Both jobs block in time.sleep for 5 s on a 2 s lock (the stack does not move); one reports
    progress every 0.5 s meanwhile. Only the silent one is given up on as hung and run again."""
    log = tmp_path / "w.log"
    cli.start_worker(Q, log=log)
    reporting = _enqueue(cli, "hang_s:=5", "hang_attempts:=1", "progress_steps:=10")
    silent = _enqueue(cli, "hang_s:=5", "hang_attempts:=1")
    assert wait_until(lambda: _row(cli, reporting)["status"] == "COMPLETED", timeout=30)
    assert wait_until(lambda: _row(cli, silent)["status"] == "COMPLETED", timeout=30)
    assert _row(cli, reporting)["attempts"] == 1
    assert not [e for e in _events(log, reporting) if e.get("event") == "stalled"]
    assert _row(cli, silent)["attempts"] == 2  # the control: the same block, no progress, is hung
    assert [e for e in _events(log, silent) if e.get("event") == "stalled"]


def test_enqueue_wait_without_a_terminal_prints_progress_lines_on_stderr(cli: Cli, tmp_path: Path) -> None:
    cli.start_worker(Q, log=tmp_path / "w.log")
    out = cli.run("enqueue", "ping", "sleep_s:=2", "progress_steps:=4", "--queue", Q, "--wait")
    assert out.returncode == 0, out.stderr
    (job_id,) = out.stdout.splitlines()  # stdout stays the result: the id alone
    progress = [line for line in out.stderr.splitlines() if line.startswith(f"{job_id}: ")]
    assert len(progress) >= 2, out.stderr
    assert progress[-1] == f"{job_id}: 4/4 (100%) step 4 of 4"
    assert len(set(progress)) == len(progress)  # a line only when the progress changed
    as_json = cli.run("enqueue", "ping", "sleep_s:=1", "progress_steps:=2", "--queue", Q, "--wait", "--json")
    assert as_json.returncode == 0 and json.loads(as_json.stdout)["status"] == "COMPLETED"
    assert "2/2 (100%) step 2 of 2" in as_json.stderr
