"""`jobctl doctor` against real services: a real worker process, real Redis, SQLite and
PostgreSQL. Broken states are made by hand (a row claimed by a worker that never existed, a
PENDING row whose RQ job is gone), and doctor must report them without changing anything."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis
from cli_support import Cli, wait_until
from sqlalchemy import select, update

from jobctl.domain.errors import ExitCode
from jobctl.store.engine import create_store_engine
from jobctl.store.schedule_tables import SCHEDULES
from jobctl.store.tables import JOBS, METADATA

QUEUES = ("content-generation", "context-scraping", "analytics-sync")


def _doctor(cli: Cli, *args: str) -> tuple[int, dict[str, Any]]:
    out = cli.run("doctor", "--json", *args)
    assert out.stdout.count("\n{") == 0, out.stdout  # one document
    return out.returncode, json.loads(out.stdout)


def _check(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in report["checks"] if c["name"] == name)


def _enqueue(cli: Cli, queue: str) -> str:
    out = cli.run("enqueue", "ping", "--queue", queue)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def _age_row(cli: Cli, job_id: str, table: Any = JOBS, **values: Any) -> None:
    """Rewrite a row by hand (the test's way to build states no healthy system produces)."""
    engine = create_store_engine(cli.env["JOBCTL_DATABASE_URL"])
    try:
        with engine.begin() as conn:
            conn.execute(update(table).where(table.c.id == job_id).values(**values))
    finally:
        engine.dispose()


def _lose_in_redis(cli: Cli, job_id: str, queue: str) -> None:
    r = redis.Redis.from_url(cli.env["JOBCTL_REDIS_URL"])
    r.delete(f"rq:job:{job_id}")
    r.lrem(f"rq:queue:{queue}", 0, job_id)
    r.close()


def test_healthy_system_is_all_ok(cli: Cli, tmp_path: Path) -> None:
    cli.start_worker(*QUEUES, log=tmp_path / "w.log", extra=("-c", "2", "--name", "doc-w"))
    assert wait_until(lambda: "doc-w" in cli.run("doctor").stdout, timeout=20)
    job = _enqueue(cli, "analytics-sync")
    assert wait_until(lambda: cli.json("jobs", "show", job, "--json")["status"] == "COMPLETED")
    code, report = _doctor(cli)
    assert code == 0, report
    assert report["status"] == "ok"
    assert all(c["status"] == "ok" for c in report["checks"]), [
        c for c in report["checks"] if c["status"] != "ok"
    ]
    names = [c["name"] for c in report["checks"]]
    for name in ("config", "database", "redis", "workers", "stalled", "lost", "overdue", "scheduler"):
        assert name in names
    assert [w["owner"] for w in _check(report, "workers")["details"]["workers"]] == ["doc-w"]
    text = cli.run("doctor")
    assert text.returncode == 0 and "0 failed" in text.stdout


def test_queue_with_pending_jobs_and_no_worker_warns(cli: Cli) -> None:
    _enqueue(cli, "analytics-sync")
    _enqueue(cli, "analytics-sync")
    code, report = _doctor(cli)
    assert code == 0  # warnings only
    q = _check(report, "queue analytics-sync")
    assert q["status"] == "warn"
    assert q["finding"] == "2 job(s) waiting on queue analytics-sync and no worker consumes it"
    assert q["hint"] == "start `jobctl worker --queue analytics-sync`"
    assert _check(report, "queue context-scraping")["status"] == "ok"
    assert _check(report, "workers")["status"] == "warn"
    assert _check(report, "lost")["status"] == "ok"  # freshly enqueued: in RQ


def test_running_row_of_a_dead_worker_is_stalled(cli: Cli) -> None:
    job = _enqueue(cli, "context-scraping")
    _lose_in_redis(cli, job, "context-scraping")  # a worker popped it ...
    now = datetime.now(UTC)
    _age_row(cli, job, status="RUNNING", worker="ghost-worker", attempts=1, started_at=now, updated_at=now)
    code, report = _doctor(cli)
    stalled = _check(report, "stalled")
    assert stalled["status"] == "fail" and code == ExitCode.CHECK_FAILED
    assert job in stalled["finding"] and "ghost-worker" in stalled["finding"]
    assert "no live worker" in stalled["finding"] and "jobctl worker" in stalled["hint"]
    assert stalled["details"]["stalled"][0]["id"] == job


def test_pending_row_missing_from_redis_is_lost_and_overdue(cli: Cli) -> None:
    job = _enqueue(cli, "context-scraping")
    kept = _enqueue(cli, "context-scraping")
    _lose_in_redis(cli, job, "context-scraping")
    past = datetime.now(UTC) - timedelta(minutes=2)
    for job_id in (job, kept):
        _age_row(cli, job_id, created_at=past, updated_at=past)
    code, report = _doctor(cli, "--overdue-after", "1m")
    lost = _check(report, "lost")
    assert lost["status"] == "fail" and code == ExitCode.CHECK_FAILED
    assert [j["id"] for j in lost["details"]["lost"]] == [job]
    assert "1 of all 2 PENDING row(s) missing from RQ" in lost["finding"]
    assert "jobctl worker" in lost["hint"]
    overdue = _check(report, "overdue")
    assert overdue["status"] == "warn"
    assert "context-scraping: 2" in overdue["finding"] and "no worker consumes it" in overdue["finding"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_redis_down_fails_its_check_with_the_url_masked(cli: Cli) -> None:
    _enqueue(cli, "analytics-sync")
    port = _closed_port()
    cli.env["JOBCTL_REDIS_URL"] = f"redis://:hunter2secret@127.0.0.1:{port}/0"
    out = cli.run("doctor", "--json")
    assert out.returncode == ExitCode.CHECK_FAILED, out.stderr
    assert "hunter2secret" not in out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    report = json.loads(out.stdout)
    r = _check(report, "redis")
    assert r["status"] == "fail"
    assert f"redis://:***@127.0.0.1:{port}/0" in r["finding"]
    assert _check(report, "database")["status"] == "ok"  # the database side still ran
    assert _check(report, "overdue")["status"] == "ok"
    q = _check(report, "queue analytics-sync")
    assert q["status"] == "warn" and q["finding"].startswith("1 job(s) waiting")
    assert "not checked" in _check(report, "workers")["finding"]
    text = cli.run("doctor")
    assert text.returncode == ExitCode.CHECK_FAILED
    assert "hunter2secret" not in text.stdout + text.stderr and "FAIL" in text.stdout


def test_json_shape(cli: Cli) -> None:
    _, report = _doctor(cli)
    assert set(report) == {"status", "checks"}
    assert report["status"] in ("ok", "warn", "fail")
    for c in report["checks"]:
        assert {"name", "status", "finding", "hint"} <= set(c)
        assert c["status"] in ("ok", "warn", "fail") and c["finding"]
        assert "\n" not in c["finding"]
        assert (c["hint"] is None) == (c["status"] == "ok")


def _snapshot(cli: Cli) -> tuple[dict[bytes, Any], dict[str, list[Any]]]:
    r = redis.Redis.from_url(cli.env["JOBCTL_REDIS_URL"])
    keys = {k: (r.type(k), r.dump(k), r.ttl(k) > 0) for k in r.scan_iter(count=1000)}
    r.close()
    engine = create_store_engine(cli.env["JOBCTL_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            rows = {
                name: [tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key))]
                for name, table in METADATA.tables.items()
            }
    finally:
        engine.dispose()
    return keys, rows


def test_doctor_changes_nothing(cli: Cli) -> None:
    stalled, lost, _waiting = (_enqueue(cli, "context-scraping") for _ in range(3))
    _enqueue(cli, "analytics-sync")
    _lose_in_redis(cli, stalled, "context-scraping")
    _lose_in_redis(cli, lost, "context-scraping")
    now, past = datetime.now(UTC), datetime.now(UTC) - timedelta(minutes=10)
    _age_row(cli, stalled, status="RUNNING", worker="ghost", attempts=1, started_at=now, updated_at=now)
    _age_row(cli, lost, created_at=past, updated_at=past)
    add = cli.run("schedules", "add", "nightly", "ping", "0 3 * * *", "--queue", "analytics-sync")
    assert add.returncode == 0, add.stderr
    before = _snapshot(cli)
    code, report = _doctor(cli)
    assert code == ExitCode.CHECK_FAILED
    assert {_check(report, n)["status"] for n in ("stalled", "lost")} == {"fail"}
    assert cli.run("doctor").returncode == ExitCode.CHECK_FAILED
    after = _snapshot(cli)
    assert after[1] == before[1]
    assert after[0] == before[0]


def test_embedded_defaults_are_looked_at_not_started(embedded_cli: Cli, tmp_path: Path) -> None:
    data = tmp_path / "data"
    code, report = _doctor(embedded_cli)
    assert code == 0, report
    assert not data.exists()  # neither the SQLite file nor the embedded Redis was created
    assert _check(report, "redis")["status"] == "warn"
    assert "not running" in _check(report, "redis")["finding"]
    assert "not created yet" in _check(report, "database")["finding"]
    overdue = _check(report, "overdue")
    assert overdue["status"] == "ok" and overdue["finding"].startswith("no jobs yet")
    job = _enqueue(embedded_cli, "context-scraping")  # starts the embedded Redis, creates SQLite
    code, report = _doctor(embedded_cli)
    assert code == 0, report
    assert _check(report, "redis")["status"] == "ok" and "(embedded)" in _check(report, "redis")["finding"]
    assert _check(report, "database")["status"] == "ok"
    assert _check(report, "queue context-scraping")["status"] == "warn"
    assert embedded_cli.json("jobs", "show", job, "--json")["status"] == "PENDING"


def test_schedules_without_a_scheduler_leader(cli: Cli, tmp_path: Path) -> None:
    add = cli.run("schedules", "add", "every-minute", "ping", "* * * * *", "--queue", "analytics-sync")
    assert add.returncode == 0, add.stderr
    _, report = _doctor(cli)
    sched = _check(report, "scheduler")
    assert sched["status"] == "warn" and "no scheduler holds the leadership lease" in sched["finding"]
    assert "jobctl scheduler" in sched["hint"]
    schedule_id = cli.json("schedules", "show", "every-minute", "--json")["schedule"]["id"]
    _age_row(cli, schedule_id, SCHEDULES, active_since=datetime.now(UTC) - timedelta(minutes=10))
    code, report = _doctor(cli)  # a tick is now minutes late: it did not fire
    sched = _check(report, "scheduler")
    assert sched["status"] == "fail" and code == ExitCode.CHECK_FAILED
    assert "every-minute" in sched["finding"] and "late" in sched["finding"]
    command = [sys.executable, "-m", "jobctl", "scheduler", "--name", "doc-s", "--log-json"]
    with (tmp_path / "s.log").open("ab") as fh:
        proc = subprocess.Popen(
            command, env=cli.env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    cli.procs.append(proc)  # stopped by pid (SIGTERM) at teardown

    def leader_ok() -> bool:
        sched = _check(_doctor(cli)[1], "scheduler")
        return sched["status"] == "ok" and "scheduler doc-s leads" in sched["finding"]

    assert wait_until(leader_ok, timeout=20, interval=0.5)  # it led and caught up on the late tick
