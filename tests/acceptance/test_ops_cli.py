"""The scripting and alerting commands end to end: the real `jobctl` in subprocesses, a real
worker, both databases and the real Redis. `jobs wait` exit codes per outcome, `check` exit 0
then 1 with its reason, `--dry-run` and a missing confirmation changing nothing, `purge`
leaving running and pending jobs alone, and the audit rows."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

from cli_support import Cli, wait_until

from jobctl.domain.errors import ExitCode

Q = "context-scraping"  # the worker's queue
IDLE = "analytics-sync"  # no worker: jobs stay PENDING


def _enqueue(cli: Cli, *args: str) -> str:
    out = cli.run("enqueue", "ping", *args)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def _status(cli: Cli, job_id: str) -> str:
    return str(cli.json("jobs", "show", job_id, "--json")["status"])


def test_wait_exit_code_tells_the_outcome(cli: Cli, tmp_path: Path) -> None:
    cli.start_worker(Q, log=tmp_path / "worker.log")
    ok = _enqueue(cli, "--queue", Q)
    fails = _enqueue(cli, "fail_attempts:=9", "--queue", Q)
    long = _enqueue(cli, "sleep_s=120", "--queue", Q)
    stuck = _enqueue(cli, "--queue", IDLE)

    done = cli.run("jobs", "wait", ok, "--timeout", "30s")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{ok} COMPLETED attempts=1/4")

    failed = cli.run("jobs", "wait", fails, ok, "--timeout", "60s")  # 4 attempts, 1 s apart
    assert failed.returncode == ExitCode.JOB_FAILED, failed.stderr
    lines = failed.stdout.splitlines()
    assert lines[0].startswith(f"{fails} FAILED attempts=4/4") and lines[1].startswith(f"{ok} COMPLETED")
    assert "error: 1 of 2 job(s) FAILED" in failed.stderr

    assert wait_until(lambda: _status(cli, long) == "RUNNING")
    assert cli.run("jobs", "cancel", long).returncode == 0
    cancelled = cli.run("jobs", "wait", long, ok, "--json")
    assert cancelled.returncode == ExitCode.JOB_CANCELLED == 16, cancelled.stderr
    rows = json.loads(cancelled.stdout)
    assert [(r["id"], r["status"], r["timed_out"]) for r in rows] == [
        (long, "CANCELLED", False),
        (ok, "COMPLETED", False),
    ]
    worst = cli.run("jobs", "wait", long, fails, ok)  # failed beats cancelled
    assert worst.returncode == ExitCode.JOB_FAILED

    started = time.monotonic()
    late = cli.run("jobs", "wait", stuck, fails, "--timeout", "1s")  # unfinished beats failed
    assert late.returncode == ExitCode.TIMEOUT, late.stderr
    assert time.monotonic() - started < 15
    assert late.stdout.splitlines()[0] == f"{stuck} PENDING attempts=0/4 (not ended within 1s)"
    assert "1 of 2 job(s) had not ended within 1s" in late.stderr

    unknown = cli.run("jobs", "wait", ok, "no-such-job")
    assert unknown.returncode == ExitCode.NOT_FOUND and unknown.stdout == ""
    assert "no job with id 'no-such-job'" in unknown.stderr
    # enqueue --wait keeps its documented code for a cancelled job: 9, not 16
    assert (
        cli.run("enqueue", "ping", "--queue", IDLE, "--wait", "--timeout", "0.2").returncode
        == ExitCode.TIMEOUT
    )


def test_check_passes_then_fails_with_its_reason(cli: Cli, tmp_path: Path) -> None:
    assert cli.run("check").returncode == ExitCode.INVALID_INPUT  # nothing to check
    clean = cli.run("check", "--max-failed", "0", "--since", "1h", "--max-queue-age", "5m")
    assert clean.returncode == 0, clean.stderr
    assert clean.stdout.startswith("OK: 0 job(s) failed in the last 1h (max 0); no job waiting")
    assert clean.stdout.count("\n") == 1 and clean.stderr == ""

    cli.start_worker(Q, log=tmp_path / "worker.log")
    job = _enqueue(cli, "fail_attempts:=9", "--queue", Q)
    assert cli.run("jobs", "wait", job, "--timeout", "60s").returncode == ExitCode.JOB_FAILED
    bad = cli.run("check", "--max-failed", "0", "--max-queue-age", "5m")
    assert bad.returncode == 1, bad.stderr
    assert bad.stdout == (
        "FAILED: 1 job(s) failed in the last 1h (max 0) | failed_jobs=1;;0 queue_age=0s;;300\n"
    )
    assert cli.run("check", "--max-failed", "1").returncode == 0
    assert cli.run("check", "--max-failed", "0", "--queue", IDLE).returncode == 0

    _enqueue(cli, "--queue", IDLE)  # nobody consumes it
    _enqueue(cli, "--queue", IDLE, "--in", "1h")  # scheduled for later: not waiting
    time.sleep(2.2)
    aged = cli.run("check", "--max-queue-age", "1s", "--json")
    assert aged.returncode == 1, aged.stderr
    report = json.loads(aged.stdout)
    [age] = report["checks"]
    assert age["name"] == "queue_age" and age["verdict"] == "failed" and age["threshold"] == 1
    assert 2 <= age["value"] < 30 and report["ok"] is False
    assert age["reason"].startswith("oldest of 1 due PENDING job(s) has waited ")
    assert cli.run("check", "--max-queue-age", "1m").returncode == 0
    assert cli.run("check", "--max-queue-age", "1s", "--queue", Q).returncode == 0
    assert cli.run("check", "--max-queue-age", "1s", "--queue", "nope").returncode == ExitCode.INVALID_INPUT
    # could not check (database unreachable) is not "the check failed": its own code, on stderr
    down = Cli({**cli.env, "JOBCTL_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    unreachable = down.run("check", "--max-failed", "0")
    assert unreachable.returncode == ExitCode.DATABASE_UNAVAILABLE and unreachable.stdout == ""
    assert unreachable.stderr.startswith("error: ")


def test_retry_all_failed_previews_confirms_and_audits(cli: Cli, tmp_path: Path) -> None:
    worker = cli.start_worker(Q, log=tmp_path / "worker.log")
    failed = [_enqueue(cli, "fail_attempts:=4", "--queue", Q) for _ in range(2)]
    assert cli.run("jobs", "wait", *failed, "--timeout", "60s").returncode == ExitCode.JOB_FAILED
    worker.terminate()
    worker.wait(timeout=30)

    dry = cli.run("jobs", "retry", "--all-failed", "--type", "ping", "--since", "1h", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout == "dry run: would retry 2 job(s) (2 FAILED); nothing changed\n"
    refused = cli.run("jobs", "retry", "--all-failed")  # no terminal, no --yes
    assert refused.returncode == ExitCode.NOT_CONFIRMED == 17
    assert "no terminal to ask on; pass --yes" in refused.stderr
    assert [_status(cli, j) for j in failed] == ["FAILED", "FAILED"]  # neither changed anything
    assert cli.json("audit", "list", "--json") == []
    assert cli.run("jobs", "retry", "--all-failed", failed[0]).returncode == ExitCode.USAGE
    assert cli.run("jobs", "retry", failed[0], "--dry-run").returncode == ExitCode.USAGE

    done = cli.run("jobs", "retry", "--all-failed", "--org", "nobody", "--yes")
    assert done.returncode == 0 and done.stdout == "no jobs match: nothing to retry\n"
    done = cli.run("jobs", "retry", "--all-failed", "--yes", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["done"] == 2
    for job_id in failed:  # as `jobs retry ID` does it: PENDING again with a fresh budget
        row = cli.json("jobs", "show", job_id, "--json")
        assert row["status"] == "PENDING" and row["max_attempts"] == 8 and row["error"] is None
    [entry] = cli.json("audit", "list", "--json")
    assert entry["action"] == "jobs.retry" and entry["count"] == 2 and entry["actor_kind"] == "os-user"
    assert entry["actor"] and entry["filter"]["statuses"] == ["FAILED"]

    cli.start_worker(Q, log=tmp_path / "worker2.log")  # attempt 5 succeeds (fail_attempts=4)
    assert cli.run("jobs", "wait", *failed, "--timeout", "60s").returncode == 0
    cancel_two = [_enqueue(cli, "--queue", IDLE) for _ in range(2)]
    assert cli.run("jobs", "cancel", *cancel_two).returncode == 0  # several ids: one audit row
    entries = cli.json("audit", "list", "--json")
    assert [e["action"] for e in entries] == ["jobs.cancel", "jobs.retry"]
    assert entries[0]["filter"] == {"ids": cancel_two, "id_count": 2} and entries[0]["count"] == 2
    assert "jobs.cancel" in cli.run("audit", "list").stdout


def test_purge_dry_run_confirm_and_what_it_leaves(
    cli: Cli, tmp_path: Path, db_url: str, redis_url: str
) -> None:
    import redis
    from sqlalchemy import create_engine, text

    cli.start_worker(Q, log=tmp_path / "worker.log")
    completed = _enqueue(cli, "--queue", Q)
    failed = _enqueue(cli, "fail_attempts:=9", "--queue", Q)
    cancelled = _enqueue(cli, "--queue", IDLE)
    pending = _enqueue(cli, "--queue", IDLE)
    assert cli.run("jobs", "cancel", cancelled).returncode == 0
    assert cli.run("jobs", "wait", completed, failed, "--timeout", "60s").returncode == ExitCode.JOB_FAILED
    running = _enqueue(cli, "sleep_s=60", "--queue", Q)
    assert wait_until(lambda: _status(cli, running) == "RUNNING")
    finals = [completed, failed, cancelled]
    store = redis.Redis.from_url(redis_url)
    assert store.exists(f"rq:job:{completed}")

    assert (
        cli.run("jobs", "purge", "--status", "pending", "--older-than", "0s").returncode
        == ExitCode.INVALID_INPUT
    )
    young = cli.run("jobs", "purge", "--status", "completed,failed,cancelled", "--older-than", "1h", "--yes")
    assert young.returncode == 0 and young.stdout == "no jobs match: nothing to purge\n"
    dry = cli.run(
        "jobs", "purge", "-s", "completed", "-s", "failed,cancelled", "--older-than", "0s", "--dry-run"
    )
    assert dry.returncode == 0, dry.stderr
    assert (
        dry.stdout == "dry run: would purge 3 job(s) (1 CANCELLED, 1 COMPLETED, 1 FAILED); nothing changed\n"
    )
    refused = cli.run("jobs", "purge", "--status", "completed,failed,cancelled", "--older-than", "0s")
    assert refused.returncode == ExitCode.NOT_CONFIRMED
    declined = _with_terminal(cli, "n\n", "jobs", "purge", "--status", "completed", "--older-than", "0s")
    assert (
        declined.returncode == ExitCode.NOT_CONFIRMED and "Purge 1 job(s) (1 COMPLETED)?" in declined.stdout
    )
    listed = {j["id"] for j in cli.json("jobs", "list", "--json")}
    assert listed == {completed, failed, cancelled, pending, running}  # nothing changed
    assert cli.json("audit", "list", "--json") == []

    purged = cli.run(
        "jobs", "purge", "--status", "completed,failed,cancelled", "--older-than", "0s", "--yes", "--json"
    )
    assert purged.returncode == 0, purged.stderr
    assert json.loads(purged.stdout)["done"] == 3
    assert {j["id"] for j in cli.json("jobs", "list", "--json")} == {pending, running}
    assert _status(cli, running) == "RUNNING"
    for job_id in finals:
        assert cli.run("jobs", "show", job_id).returncode == ExitCode.NOT_FOUND
        assert not store.exists(f"rq:job:{job_id}")
    assert store.exists(f"rq:job:{pending}")
    engine = create_engine(db_url)
    with engine.connect() as conn:
        ids = ", ".join(f"'{i}'" for i in finals)
        assert (
            conn.execute(text(f"SELECT count(*) FROM job_attempts WHERE job_id IN ({ids})")).scalar_one() == 0
        )
        assert (
            conn.execute(text(f"SELECT count(*) FROM job_attempts WHERE job_id = '{running}'")).scalar_one()
            == 1
        )
    engine.dispose()
    store.close()
    [entry] = cli.json("audit", "list", "--json")
    assert entry["action"] == "jobs.purge" and entry["count"] == 3
    assert entry["detail"]["by_status"] == {"CANCELLED": 1, "COMPLETED": 1, "FAILED": 1}
    assert cli.run("jobs", "cancel", running).returncode == 0


def _with_terminal(cli: Cli, answer: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run jobctl with a pseudo-terminal as stdin and stderr (where the question is asked),
    typing `answer`; stdout of the result carries what the terminal showed."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobctl", *args],
        env=cli.env,
        stdin=follower,
        stdout=subprocess.PIPE,
        stderr=follower,
        text=True,
    )
    os.close(follower)
    shown = b""
    deadline = time.monotonic() + 30
    while b"?" not in shown and time.monotonic() < deadline:
        shown += os.read(leader, 1024)
    os.write(leader, answer.encode())
    out, _ = proc.communicate(timeout=30)
    try:
        while True:
            chunk = os.read(leader, 1024)
            if not chunk:
                break
            shown += chunk
    except OSError:
        pass
    os.close(leader)
    return subprocess.CompletedProcess(proc.args, proc.returncode, shown.decode() + out, "")


def test_db_prune_dry_run_and_run_by_hand(cli: Cli) -> None:
    """`db prune`: `--dry-run` counts, a run deletes only what is past its window (nothing of
    two fresh jobs, a PENDING and a CANCELLED one), 0 days keeps a table forever, `--json` on
    both; `doctor --json` shows the table sizes. (What goes and what stays, batch by batch:
    tests/integration/test_retention.py.)"""
    done = _enqueue(cli, "--queue", IDLE)
    assert cli.run("jobs", "cancel", done).returncode == 0
    pending = _enqueue(cli, "--queue", IDLE)
    dry = cli.json("db", "prune", "--dry-run", "--json")
    assert dry["dry_run"] and [t["table"] for t in dry["tables"]][:2] == ["jobs", "schedule_firings"]
    assert dry["tables"][0]["deleted"] == 0 and dry["tables"][0]["days"] == 30
    ran = cli.json("db", "prune", "--json")
    assert not ran["dry_run"] and ran["deleted"] == 0 and ran["stopped"] is None
    text = cli.run("db", "prune", "--dry-run")
    assert text.returncode == 0 and "would delete" in text.stdout and "post_analytics" in text.stdout
    cli.env["JOBCTL_RETENTION_JOBS_DAYS"] = "0"
    try:
        kept = cli.json("db", "prune", "--dry-run", "--json")
    finally:
        del cli.env["JOBCTL_RETENTION_JOBS_DAYS"]
    assert kept["tables"][0]["skipped"] == "kept forever (0 days)"
    doctor = cli.json("doctor", "--json")
    retention = next(c for c in doctor["checks"] if c["name"] == "retention")
    assert {t["table"]: t.get("rows") for t in retention["details"]["tables"]}["jobs"] == 2
    assert "last sweep" in retention["finding"]
    assert _status(cli, done) == "CANCELLED" and _status(cli, pending) == "PENDING"
