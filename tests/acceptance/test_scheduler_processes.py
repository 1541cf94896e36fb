"""Two real `jobctl scheduler` processes and a worker over a per-second schedule: each tick is
handled once, the leader paused with SIGSTOP past its lease is replaced and, continued, fires
nothing the other handled; ticks are enqueued within 1 s; /healthz answers."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cli_support import Cli, wait_until

Q = "context-scraping"
LEASE_S = 2.0

pytestmark = pytest.mark.slow


def start_scheduler(cli: Cli, name: str, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jobctl", "scheduler", "--name", name, "--lease", f"{LEASE_S}s",
             "--health-interval", "2s", "--log-json", *extra],
            env=cli.env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    cli.procs.append(proc)
    return proc


def events(log: Path) -> list[dict[str, Any]]:
    out = []
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def leads(log: Path) -> bool:
    return any(e.get("event") == "scheduler-lead" for e in events(log))


def healthy_answer(url: str) -> dict[str, Any]:
    """The body of the first 200 from /healthz: the server listens before the scheduler's
    first pass has completed, and answers 503 until then."""
    answers: list[tuple[int, dict[str, Any]]] = []

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                answers.append((resp.status, json.loads(resp.read())))
        except urllib.error.HTTPError as exc:
            answers.append((exc.code, json.loads(exc.read())))
        return answers[-1][0] == 200

    assert wait_until(healthy, timeout=20), answers[-3:]
    return answers[-1][1]


def test_two_schedulers_fire_each_tick_once_through_a_pause(cli: Cli, tmp_path: Path) -> None:
    assert cli.run("schedules", "add", "every-second", "ping", "* * * * * *", "--queue", Q).returncode == 0
    sid = cli.json("schedules", "list", "--json")[0]["id"]
    cli.start_worker(Q, log=tmp_path / "worker.log", extra=("--concurrency", "4"))
    logs = {"A": tmp_path / "a.log", "B": tmp_path / "b.log"}
    procs = {"A": start_scheduler(cli, "A", logs["A"])}
    assert wait_until(lambda: leads(logs["A"]), timeout=20)
    procs["B"] = start_scheduler(cli, "B", logs["B"], "--health-port", "0")
    try:
        assert wait_until(
            lambda: any(e.get("event") == "health-listen" for e in events(logs["B"])), timeout=20
        )
        listen = next(e for e in events(logs["B"]) if e.get("event") == "health-listen")["message"]
        health = healthy_answer(listen.split(" on ", 1)[1])
        assert health["role"] == "standby" and health["holder"] == "B"

        time.sleep(3)
        os.kill(procs["A"].pid, signal.SIGSTOP)  # the leader freezes, lease and all
        paused_at = time.time()
        time.sleep(LEASE_S * 2.5)
        os.kill(procs["A"].pid, signal.SIGCONT)
        resumed_at = time.time()
        time.sleep(3)
    finally:
        os.kill(procs["A"].pid, signal.SIGCONT)
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            assert proc.wait(timeout=15) == 0

    history = cli.json("schedules", "show", "every-second", "--limit", "1000", "--json")["history"]
    jobs = [j for j in cli.json("jobs", "list", "--limit", "1000", "--json") if j["schedule_id"] == sid]
    fire_times = [h["fire_time"] for h in history]
    assert len(fire_times) == len(set(fire_times)) > 5
    enqueued = {h["job_id"]: h for h in history if h["outcome"] == "enqueued"}
    assert sorted(enqueued) == sorted(j["id"] for j in jobs)  # exactly one job per enqueued tick
    for job in jobs:
        assert job["id"].endswith(f"-{int(datetime.fromisoformat(job['scheduled_for']).timestamp())}")
        assert job["attempts"] <= 1  # nothing ran twice

    def at(h: dict[str, Any]) -> float:
        return datetime.fromisoformat(h["fire_time"]).timestamp()

    by_a = [h for h in history if h["recorded_by"] == "A"]
    by_b = [h for h in history if h["recorded_by"] == "B"]
    assert by_a and by_b
    assert max(at(h) for h in by_a) <= paused_at + 1  # A fired nothing after it was stopped...
    assert min(at(h) for h in by_b) <= paused_at + LEASE_S + 2  # ... B took over within the lease
    a_events = [e for e in events(logs["A"]) if e.get("event") == "scheduler-standby"]
    assert a_events and "stalled past its lease" in a_events[0]["message"]  # ... and A knows it
    assert all(datetime.fromisoformat(h["recorded_at"]).timestamp() < resumed_at for h in by_a)

    # Accuracy while up: on-time ticks become job rows well within 1 s of their fire time.
    on_time = [j for j in jobs if enqueued[j["id"]]["reason"] is None]
    delays = sorted(
        (datetime.fromisoformat(j["created_at"]) - datetime.fromisoformat(j["scheduled_for"])).total_seconds()
        for j in on_time
    )
    assert delays and delays[-1] < 1.0, delays
    outcomes = [h["outcome"] for h in history]
    p50, worst = statistics.median(delays) * 1000, delays[-1] * 1000
    print(f"{len(delays)} on-time ticks: fire delay p50 {p50:.1f} ms, max {worst:.1f} ms; {outcomes}")
