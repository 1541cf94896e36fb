"""`jobctl events`: job transitions from the jobctl:events stream, with real workers. A
follower started before the jobs sees each job's transitions in order (a retry included),
filters by type and organisation, and ends cleanly on Ctrl-C; without -f it prints and exits."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from cli_support import Cli, wait_until

Q = "context-scraping"


class Follower:
    """`jobctl events -f --json …` in a subprocess, its lines collected by a thread."""

    def __init__(self, cli: Cli, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jobctl", "events", "-f", "--json", "-n", "0", *args],
            env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        cli.procs.append(self.proc)  # type: ignore[arg-type]  # stopped by pid at the end
        self.events: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.events.append(json.loads(line))

    def of(self, job_id: str) -> list[tuple[str, str | None, str, int]]:
        return [(e["kind"], e["from"], e["to"], e["attempt"]) for e in self.events if e["job_id"] == job_id]

    def interrupt(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=10)
        assert self.proc.stderr is not None
        return code, self.proc.stderr.read()


def _enqueue(cli: Cli, *args: str) -> str:
    out = cli.run("enqueue", "ping", *args, "--queue", Q)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_follow_sees_transitions_in_order_and_filters(cli: Cli, tmp_path: Path) -> None:
    everything = Follower(cli)
    acme = Follower(cli, "--org", "acme", "--type", "ping")
    other_type = Follower(cli, "--type", "sync-rss")
    cli.start_worker(Q, log=tmp_path / "worker.log", extra=("--concurrency", "2"))
    ok = _enqueue(cli, "--org", "acme", "--wait")
    retried = _enqueue(cli, "fail_attempts:=1", "--org", "globex", "--wait", "--timeout", "30")

    def both_done() -> bool:
        return ("completed", "RUNNING", "COMPLETED", 2) in everything.of(retried) and bool(acme.of(ok))

    assert wait_until(both_done, timeout=15), everything.events
    assert everything.of(ok) == [
        ("enqueued", None, "PENDING", 0),
        ("started", "PENDING", "RUNNING", 1),
        ("completed", "RUNNING", "COMPLETED", 1),
    ]
    assert everything.of(retried) == [
        ("enqueued", None, "PENDING", 0),
        ("started", "PENDING", "RUNNING", 1),
        ("retry-scheduled", "RUNNING", "PENDING", 1),
        ("started", "PENDING", "RUNNING", 2),
        ("completed", "RUNNING", "COMPLETED", 2),
    ]
    retry = next(e for e in everything.events if e["kind"] == "retry-scheduled")
    assert "ping asked to fail" in retry["error"] and retry["next_attempt_at"] and retry["worker"]
    assert retry["type"] == "ping" and retry["organization_id"] == "globex" and retry["queue"] == Q
    assert {e["job_id"] for e in acme.events} == {ok}  # --org acme leaves globex's out
    assert other_type.events == []  # --type sync-rss: none of these
    for follower in (everything, acme, other_type):
        code, err = follower.interrupt()
        assert code == 0 and "Traceback" not in err, err

    # Without -f: the recent history, oldest first, then exit.
    out = cli.run("events", "--json", "--org", "globex")
    assert out.returncode == 0, out.stderr
    kinds = [json.loads(line)["kind"] for line in out.stdout.splitlines()]
    assert kinds == ["enqueued", "started", "retry-scheduled", "started", "completed"]
    text = cli.run("events", "-n", "2")
    assert text.returncode == 0 and len(text.stdout.splitlines()) == 2
    assert "completed" in text.stdout and "RUNNING→COMPLETED" in text.stdout


def test_cancel_and_operator_retry_are_events(cli: Cli) -> None:
    job_id = _enqueue(cli)  # no worker: it stays PENDING
    assert cli.run("jobs", "cancel", job_id).returncode == 0
    assert cli.run("jobs", "retry", job_id).returncode == 0
    out = cli.run("events", "--json")
    assert out.returncode == 0, out.stderr
    seen = [(e["kind"], e["from"], e["to"]) for e in map(json.loads, out.stdout.splitlines())]
    assert seen == [
        ("enqueued", None, "PENDING"),
        ("cancelled", "PENDING", "CANCELLED"),
        ("retried", "CANCELLED", "PENDING"),
    ]


def test_lost_execution_is_an_event(cli: Cli, tmp_path: Path) -> None:
    """A worker killed mid-job and restarted under its name: the recovery's `lost` transition
    (RUNNING -> PENDING, with why) comes before the re-run's `started`."""
    job_id = _enqueue(cli, "sleep_s=2")
    a = cli.start_worker(Q, log=tmp_path / "a.log", extra=("--name", "ev-same", "--concurrency", "1"))
    assert wait_until(lambda: cli.json("jobs", "show", job_id, "--json")["status"] == "RUNNING", timeout=30)
    time.sleep(0.3)  # past the worker's event flush (50 ms): its `started` is in the stream
    a.send_signal(signal.SIGKILL)
    a.wait(timeout=10)
    cli.start_worker(Q, log=tmp_path / "a2.log", extra=("--name", "ev-same", "--concurrency", "1"))
    assert wait_until(lambda: cli.json("jobs", "show", job_id, "--json")["status"] == "COMPLETED", timeout=30)
    time.sleep(0.3)
    out = cli.run("events", "--json")
    mine = [e for e in map(json.loads, out.stdout.splitlines()) if e["job_id"] == job_id]
    assert [(e["kind"], e["from"], e["to"], e["attempt"]) for e in mine] == [
        ("enqueued", None, "PENDING", 0),
        ("started", "PENDING", "RUNNING", 1),
        ("lost", "RUNNING", "PENDING", 1),
        ("started", "PENDING", "RUNNING", 2),
        ("completed", "RUNNING", "COMPLETED", 2),
    ]
    assert "restarted" in mine[2]["error"]
