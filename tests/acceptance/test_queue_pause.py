"""`jobctl queues pause|resume Q` with real workers: a paused queue is not consumed (its new
jobs stay PENDING) while the workers' other queues are, running jobs finish, the pause
outlives a worker restart, and a resume has the job started within about a second."""

from __future__ import annotations

import json
import signal
import time
from datetime import datetime
from pathlib import Path

from cli_support import Cli, wait_until

from jobctl.domain.errors import ExitCode

Q, OTHER = "context-scraping", "analytics-sync"
WORKER_ARGS = ("--concurrency", "2")


def _status(cli: Cli, job_id: str) -> str:
    return str(cli.json("jobs", "show", job_id, "--json")["status"])


def _ping(cli: Cli, queue: str, *more: str) -> str:
    out = cli.run("enqueue", "ping", *more, "--queue", queue)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def _runs_other(cli: Cli) -> None:
    out = cli.run("enqueue", "ping", "--queue", OTHER, "--wait", "--timeout", "30", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["status"] == "COMPLETED"


def test_pause_resume_with_workers_running(cli: Cli, tmp_path: Path) -> None:
    both = cli.start_worker(Q, OTHER, log=tmp_path / "both.log", extra=WORKER_ARGS)  # multi-queue dequeue
    cli.start_worker(Q, log=tmp_path / "single.log", extra=("--concurrency", "1"))  # one-queue dequeue
    _runs_other(cli)  # the multi-queue worker is up
    long_id = _ping(cli, Q, "sleep_s=3")
    assert wait_until(lambda: _status(cli, long_id) == "RUNNING", timeout=30)

    out = cli.run("queues", "pause", Q)
    assert out.returncode == 0 and f"paused {Q}" in out.stdout, out.stderr
    again = cli.json("queues", "pause", Q, "--json")
    assert again["paused"] and not again["changed"] and again["paused_by"]
    time.sleep(1.0)  # the promise: within 1 s of the pause, no worker takes a job from Q
    waiting_id = _ping(cli, Q)
    enqueued = time.monotonic()
    _runs_other(cli)  # the same worker keeps consuming its other queue meanwhile

    both.send_signal(signal.SIGTERM)  # a restarted worker still sees the pause (state in Redis)
    assert both.wait(timeout=30) == 0
    cli.start_worker(Q, OTHER, log=tmp_path / "both-again.log", extra=WORKER_ARGS)
    _runs_other(cli)
    time.sleep(max(0.0, 3.0 - (time.monotonic() - enqueued)))
    shown = cli.json("jobs", "show", waiting_id, "--json")
    assert shown["status"] == "PENDING" and shown["attempts"] == 0, shown
    assert wait_until(lambda: _status(cli, long_id) == "COMPLETED", timeout=30)  # running jobs finish

    listed = {q["name"]: q for q in cli.json("queues", "--json")["queues"]}
    assert listed[Q]["paused"] and listed[Q]["paused_by"] and listed[Q]["queued"] == 1
    assert not listed[OTHER]["paused"]
    assert "PAUSED" in cli.run("queues").stdout
    doctor = cli.json("doctor", "--json")
    check = next(c for c in doctor["checks"] if c["name"] == f"queue {Q}")
    assert check["status"] == "warn" and "PAUSED since" in check["finding"] and " by " in check["finding"]

    out = cli.run("queues", "resume", Q)
    resumed = datetime.now().astimezone()
    assert out.returncode == 0 and f"resumed {Q}" in out.stdout, out.stderr
    assert wait_until(lambda: _status(cli, waiting_id) == "COMPLETED", timeout=15)
    started = datetime.fromisoformat(cli.json("jobs", "show", waiting_id, "--json")["started_at"])
    latency = (started - resumed).total_seconds()
    print(f"resume -> started: {latency:.3f} s")
    assert latency < 2.0, latency  # ~0.25-0.75 s by design (pause view refresh + poll)
    assert cli.run("queues", "resume", Q).stdout.strip() == f"{Q} was not paused"


def test_unknown_queue_is_invalid_input(cli: Cli) -> None:
    out = cli.run("queues", "pause", "no-such-queue")
    assert out.returncode == ExitCode.INVALID_INPUT
    assert "unknown queue 'no-such-queue'" in out.stderr and "Traceback" not in out.stderr
    assert cli.run("queues", "resume", "no-such-queue").returncode == ExitCode.INVALID_INPUT
