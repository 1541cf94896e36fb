"""Fault injection with real processes, real signals and a real Redis: a job is never lost,
never stuck, never run twice at once. Timings are shortened by configuration: heartbeat 0.5 s,
a worker silent 2 s is dead, the queue's lock is 3 s, retries wait 1 s. Drills about a lost
execution's re-run set long retry waits (SLOW_RETRIES), so only the immediate re-run of a first
loss can explain how soon the next attempt starts; one drill keeps the default timings."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from cli_support import Cli, base_env, wait_until
from rq import Queue

from jobctl.domain.errors import ExitCode, TooManyJobsError

Q = "context-scraping"
FAST = {
    "JOBCTL_HEARTBEAT_SECONDS": "0.5",
    "JOBCTL_STALL_SECONDS": "2",
    "JOBCTL_RETRY_INTERVALS": "1,1,1",
    "JOBCTL_RECONCILE_SECONDS": "1",
}
SLOW_RETRIES = "60,300,900"  # the defaults
CONFIG = '[queues."context-scraping"]\nconcurrency = 2\nlock_seconds = 3\n'


def _fast_cli(db_url: str, redis_url: str, tmp_path: Path) -> Cli:
    env = base_env(tmp_path)
    cfg = tmp_path / "jobctl.toml"
    cfg.write_text(CONFIG)
    env.update(FAST)
    env.update({"JOBCTL_DATABASE_URL": db_url, "JOBCTL_REDIS_URL": redis_url, "JOBCTL_CONFIG": str(cfg)})
    c = Cli(env)
    assert c.run("db", "upgrade").returncode == 0
    return c


# Most drills run on SQLite; the two heaviest also on PostgreSQL, the production database.
@pytest.fixture
def fast(sqlite_url: str, redis_url: str, tmp_path: Path) -> Iterator[Cli]:
    c = _fast_cli(sqlite_url, redis_url, tmp_path)
    try:
        yield c
    finally:
        c.stop_all()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fast_both(request: pytest.FixtureRequest, redis_url: str, tmp_path: Path) -> Iterator[Cli]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    c = _fast_cli(url, redis_url, tmp_path)
    try:
        yield c
    finally:
        c.stop_all()


def _row(cli: Cli, job_id: str) -> dict[str, Any]:
    return dict(cli.json("jobs", "show", job_id, "--json"))


def _running_on(cli: Cli, job_id: str) -> str | None:
    row = _row(cli, job_id)
    return row["worker"] if row["status"] == "RUNNING" else None


def _log_events(*logs: Path) -> list[dict[str, Any]]:
    out = []
    for log in logs:
        for line in log.read_text().splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
    return out


def _completions(job_id: str, *logs: Path) -> int:
    return sum(1 for e in _log_events(*logs) if e.get("job_id") == job_id and e.get("status") == "COMPLETED")


def _rq_clean(redis_url: str, job_id: str) -> None:
    """RQ agrees with a COMPLETED row: finished, and no execution left in the started registry."""
    q = Queue(Q, connection=redis.Redis.from_url(redis_url))
    assert job_id in q.finished_job_registry.get_job_ids()
    assert job_id not in q.started_job_registry.get_job_ids()
    assert job_id not in q.failed_job_registry.get_job_ids()


def _started_at(cli: Cli, job_id: str, attempt: int) -> float | None:
    """When attempt `attempt` started (the row's started_at once it is at that attempt)."""
    from datetime import datetime

    row = _row(cli, job_id)
    if row["attempts"] < attempt or not row["started_at"]:
        return None
    return datetime.fromisoformat(str(row["started_at"]).replace("Z", "+00:00")).timestamp()


def _listening(log: Path) -> bool:
    return log.exists() and "worker-start" in log.read_text()


def test_sigkill_mid_job_is_recovered_by_another_worker(
    fast_both: Cli, tmp_path: Path, redis_url: str
) -> None:
    fast = fast_both
    fast.env["JOBCTL_RETRY_INTERVALS"] = SLOW_RETRIES
    a = fast.start_worker(Q, log=tmp_path / "a.log", extra=("--name", "wa"), own_group=True)
    job_id = fast.run("enqueue", "ping", "sleep_s=4", "--queue", Q).stdout.strip()
    assert wait_until(lambda: _running_on(fast, job_id) == "wa")
    b = fast.start_worker(Q, log=tmp_path / "b.log", extra=("--name", "wb"))
    assert wait_until(lambda: _listening(tmp_path / "b.log"))
    killed_at = time.time()
    os.killpg(a.pid, signal.SIGKILL)
    next_start = wait_until(lambda: _started_at(fast, job_id, 2), timeout=20)
    # stall (2 s) + one sweep (0.5 s) + pick-up, with slack for a loaded machine: not the 60 s
    # retry wait (15 s + 5 s + pick-up <= 30 s with the defaults: the next drill)
    assert next_start and next_start - killed_at < 2 + 0.5 + 3.5, next_start - killed_at
    assert wait_until(lambda: _row(fast, job_id)["status"] == "COMPLETED", timeout=20)
    recovered = [_ts(e) for e in _log_events(tmp_path / "b.log") if e.get("event") == "recovered"]
    assert recovered and recovered[0] - killed_at < 2 + 0.5 + 2.5
    row = _row(fast, job_id)
    assert row["attempts"] == 2 and row["worker"] == "wb"
    # both executions on the timeline: the one lost with its worker, then the re-run
    lost, rerun = row["timeline"]
    assert (lost["attempt"], lost["worker"], lost["outcome"]) == (1, "wa", "lost")
    assert lost["error"]["type"] == "JobStalledError"
    assert "its worker wa stopped heartbeating" in lost["error"]["message"]
    assert (rerun["attempt"], rerun["worker"], rerun["outcome"]) == (2, "wb", "completed")
    assert _ts({"ts": rerun["started_at"]}) == pytest.approx(next_start, abs=0.01)
    assert _completions(job_id, tmp_path / "a.log", tmp_path / "b.log") == 1
    _rq_clean(fast.env["JOBCTL_REDIS_URL"], job_id)
    assert b.poll() is None


def test_sigkill_with_default_timings_reruns_within_30s(fast: Cli, tmp_path: Path) -> None:
    for name in ("JOBCTL_HEARTBEAT_SECONDS", "JOBCTL_STALL_SECONDS", "JOBCTL_RETRY_INTERVALS"):
        fast.env.pop(name)  # heartbeat 5 s, a worker silent 15 s is dead, retries 60/300/900 s
    a = fast.start_worker(Q, log=tmp_path / "a.log", extra=("--name", "da"), own_group=True)
    job_id = fast.run("enqueue", "ping", "sleep_s=30", "--queue", Q).stdout.strip()
    assert wait_until(lambda: _running_on(fast, job_id) == "da")
    fast.start_worker(Q, log=tmp_path / "b.log", extra=("--name", "db"))
    assert wait_until(lambda: _listening(tmp_path / "b.log"))
    killed_at = time.time()
    os.killpg(a.pid, signal.SIGKILL)  # the whole process group, mid-job
    next_start = wait_until(lambda: _started_at(fast, job_id, 2), timeout=45, interval=0.5)
    assert next_start, "the next attempt did not start within 45 s of the kill"
    assert next_start - killed_at <= 30, next_start - killed_at
    assert _running_on(fast, job_id) == "db"


def test_restart_with_the_same_name_recovers_at_once(fast: Cli, tmp_path: Path) -> None:
    fast.env["JOBCTL_STALL_SECONDS"] = "20"  # so only start-up recovery can explain a fast recovery
    fast.env["JOBCTL_RETRY_INTERVALS"] = SLOW_RETRIES  # and only an immediate re-run a fast start
    a = fast.start_worker(Q, log=tmp_path / "a.log", extra=("--name", "same"))
    job_id = fast.run("enqueue", "ping", "sleep_s=30", "--queue", Q).stdout.strip()
    assert wait_until(lambda: _running_on(fast, job_id) == "same")
    a.send_signal(signal.SIGKILL)
    a.wait()
    fast.run("jobs", "show", job_id)  # (the row still says RUNNING)
    restarted = time.monotonic()
    fast.start_worker(Q, log=tmp_path / "a2.log", extra=("--name", "same"))
    assert wait_until(lambda: _row(fast, job_id)["attempts"] == 2, timeout=10)
    assert time.monotonic() - restarted < 8  # not the 20 s a heartbeat expiry would take
    events = _log_events(tmp_path / "a2.log")
    assert any(e.get("event") == "startup-recovery" for e in events)


def test_sigterm_once_lets_the_running_job_finish(fast: Cli, tmp_path: Path) -> None:
    w = fast.start_worker(Q, log=tmp_path / "w.log", extra=("-c", "1", "--grace", "20"))
    job_id = fast.run("enqueue", "ping", "sleep_s=5", "--queue", Q).stdout.strip()
    assert wait_until(lambda: _running_on(fast, job_id) is not None)
    queued = fast.run("enqueue", "ping", "--queue", Q).stdout.strip()  # waits: the only slot is busy
    w.send_signal(signal.SIGTERM)
    assert w.wait(timeout=15) == 0
    assert _row(fast, job_id)["status"] == "COMPLETED"
    assert _row(fast, queued)["status"] == "PENDING"  # no new job was taken while stopping


def test_sigterm_twice_hands_running_jobs_back(fast: Cli, tmp_path: Path, redis_url: str) -> None:
    w = fast.start_worker(Q, log=tmp_path / "w.log")
    job_id = fast.run("enqueue", "ping", "sleep_s=60", "--queue", Q).stdout.strip()
    assert wait_until(lambda: _running_on(fast, job_id) is not None)
    w.send_signal(signal.SIGTERM)
    time.sleep(1.2)
    w.send_signal(signal.SIGTERM)
    assert w.wait(timeout=15) == ExitCode.FORCED_SHUTDOWN
    row = _row(fast, job_id)
    assert row["status"] == "PENDING" and row["attempts"] == 1 and row["max_attempts"] == 5  # no retry spent
    assert [a["outcome"] for a in row["timeline"]] == ["handed_back"]
    assert job_id in Queue(Q, connection=redis.Redis.from_url(redis_url)).job_ids  # back in its queue
    fast.env["JOBCTL_RETRY_INTERVALS"] = "1,1,1"
    overview = {q["name"]: q for q in fast.json("queues", "--json")["queues"]}
    assert overview[Q]["running"] == 0


def test_grace_period_expiry_hands_back(fast: Cli, tmp_path: Path) -> None:
    w = fast.start_worker(Q, log=tmp_path / "w.log", extra=("--grace", "1"))
    job_id = fast.run("enqueue", "ping", "sleep_s=60", "--queue", Q).stdout.strip()
    assert wait_until(lambda: _running_on(fast, job_id) is not None)
    w.send_signal(signal.SIGTERM)
    assert w.wait(timeout=15) == ExitCode.FORCED_SHUTDOWN
    assert _row(fast, job_id)["status"] == "PENDING"


def test_a_job_that_kills_its_worker_every_time_ends_failed(fast: Cli, tmp_path: Path) -> None:
    job_id = fast.run("enqueue", "ping", "crash_attempts:=99", "--queue", Q).stdout.strip()
    deaths = 0
    deadline = time.monotonic() + 60
    while _row(fast, job_id)["status"] != "FAILED" and time.monotonic() < deadline:
        w = fast.start_worker(
            Q, log=tmp_path / "w.log", extra=("--name", "crashy")
        )  # a supervisor restarts it
        try:
            w.wait(timeout=8)
            deaths += 1
        except subprocess.TimeoutExpired:
            w.send_signal(signal.SIGTERM)
            w.wait(timeout=15)
    row = _row(fast, job_id)
    assert row["status"] == "FAILED" and row["attempts"] == 4, row
    assert row["error"]["type"] == "JobStalledError"
    assert deaths == 4  # one death per attempt, then no more runs: no crash loop


def test_hung_job_is_recovered_within_lock_and_healthy_long_job_is_not(fast: Cli, tmp_path: Path) -> None:
    fast.env["JOBCTL_RETRY_INTERVALS"] = SLOW_RETRIES  # the hung attempt's re-run is immediate
    fast.start_worker(Q, log=tmp_path / "w.log")
    fast.start_worker("analytics-sync", log=tmp_path / "w2.log", extra=("-c", "1"))
    hung = fast.run("enqueue", "ping", "hang_s:=20", "hang_attempts:=1", "--queue", Q).stdout.strip()
    long = fast.run("enqueue", "ping", "sleep_s=7", "--queue", "analytics-sync").stdout.strip()
    assert wait_until(lambda: _row(fast, hung)["status"] == "COMPLETED", timeout=45)
    assert _row(fast, hung)["attempts"] == 2
    # attempt 1 stays hung when its execution unwinds later (stopped as hung: nothing to reject)
    assert [a["outcome"] for a in _row(fast, hung)["timeline"]] == ["hung", "completed"]
    runs = [
        _ts(e)
        for e in _log_events(tmp_path / "w.log")
        if e.get("job_id") == hung and e.get("status") == "RUNNING"
    ]
    # the hung attempt given up within the lock + 10 s, and its re-run not behind the 60 s wait
    assert len(runs) == 2 and runs[1] - runs[0] < 3 + 10, runs
    assert wait_until(lambda: _row(fast, long)["status"] == "COMPLETED", timeout=20)
    assert _row(fast, long)["attempts"] == 1  # 7 s on a 3 s lock, but it kept showing progress


def _ts(event: dict[str, Any]) -> float:
    from datetime import datetime

    return datetime.fromisoformat(str(event["ts"]).replace("Z", "+00:00")).timestamp()


def test_failing_job_runs_at_the_configured_intervals(fast: Cli, tmp_path: Path) -> None:
    fast.env["JOBCTL_RETRY_INTERVALS"] = "1,2,3"
    fast.start_worker(Q, log=tmp_path / "w.log")
    job_id = fast.run("enqueue", "ping", "fail_attempts:=9", "--queue", Q).stdout.strip()
    assert wait_until(lambda: _row(fast, job_id)["status"] == "FAILED", timeout=45)
    starts = [
        e["ts"]
        for e in _log_events(tmp_path / "w.log")
        if e.get("job_id") == job_id and e.get("status") == "RUNNING"
    ]
    from datetime import datetime

    t = [datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() for s in starts]
    gaps = [b - a for a, b in itertools.pairwise(t)]
    assert len(t) == 4, starts  # t, t+1, t+3, t+6 (60/300/900 s scaled to 1/2/3 s)
    for gap, wanted in zip(gaps, (1, 2, 3), strict=True):
        assert wanted <= gap <= wanted + 2.5, gaps  # never early; late by a scheduler tick at most


def test_two_orgs_with_a_worker_killed_midway(fast_both: Cli, tmp_path: Path, redis_url: str) -> None:
    fast = fast_both
    from jobctl.api import JobctlAPI
    from jobctl.settings import load_settings

    api = JobctlAPI(load_settings(env=fast.env))
    fast.env["JOBCTL_STALL_SECONDS"] = "2"
    first = fast.start_worker(Q, log=tmp_path / "a.log", extra=("-c", "8", "--name", "k1"))
    a_ids = [f"org-a-{i}" for i in range(200)]
    b_ids = [f"org-b-{i}" for i in range(10)]
    pending_a = list(a_ids)
    refused = 0
    killed = False
    deadline = time.monotonic() + 90
    while pending_a and time.monotonic() < deadline:
        try:
            api.enqueue_job("ping", {"sleep_s": 0.05}, queue=Q, organization_id="org-a", job_id=pending_a[0])
            pending_a.pop(0)
        except TooManyJobsError:
            refused += 1
            if refused == 1:  # org A is at its limit: org B is not starved by it
                for b in b_ids:
                    api.enqueue_job("ping", {"sleep_s": 0.05}, queue=Q, organization_id="org-b", job_id=b)
            time.sleep(0.05)
        if not killed and len(pending_a) < 120:
            first.send_signal(signal.SIGKILL)
            killed = True
            fast.start_worker(Q, log=tmp_path / "b.log", extra=("-c", "8", "--name", "k2"))
    assert not pending_a and refused > 0 and killed
    assert wait_until(
        lambda: all(
            r.status.value == "COMPLETED" for r in api.backends.repo.get_many(a_ids + b_ids).values()
        ),
        timeout=60,
    )
    logs = (tmp_path / "a.log", tmp_path / "b.log")
    done = [e["job_id"] for e in _log_events(*logs) if e.get("status") == "COMPLETED"]
    # Every row is COMPLETED (above) and none ran to completion twice. (A SIGKILLed worker may
    # lose the log line of a job it had just committed, so logs can show fewer, never more.)
    assert len(done) == len(set(done)) and set(done) <= set(a_ids + b_ids)
    assert api.backends.repo.count_active_for_org("org-a") == 0
    api.close()


def test_one_deterministic_id_from_two_threads(fast: Cli, redis_url: str) -> None:
    from jobctl.api import JobctlAPI
    from jobctl.settings import load_settings

    apis = [JobctlAPI(load_settings(env=fast.env)) for _ in range(2)]
    barrier = threading.Barrier(2)
    results: list[str] = []

    def go(api: JobctlAPI) -> None:
        barrier.wait()
        results.append(api.enqueue_job("ping", {}, queue=Q, job_id="sync-rss-7-1764300000").id)

    threads = [threading.Thread(target=go, args=(a,)) for a in apis]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["sync-rss-7-1764300000"] * 2
    assert Queue(Q, connection=redis.Redis.from_url(redis_url)).job_ids == ["sync-rss-7-1764300000"]
    for a in apis:
        a.close()


def test_bad_id_never_reaches_redis(fast: Cli, redis_url: str) -> None:
    out = fast.run("enqueue", "ping", "--queue", Q, "--id", "sync:rss/7")
    assert out.returncode == ExitCode.INVALID_INPUT
    assert redis.Redis.from_url(redis_url).dbsize() == 0


def test_metrics_and_health(fast: Cli, tmp_path: Path) -> None:
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    fast.start_worker(Q, log=tmp_path / "w.log", extra=("--health-port", str(port)))
    assert fast.run("ping", "--queue", Q, "--timeout", "20").returncode == 0

    def get(path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    status, body = wait_until(lambda: get("/healthz"), timeout=10)
    assert status == 200 and json.loads(body)["redis"] == "ok"
    status, text = get("/metrics")  # what it holds: test_metrics.py, through prometheus-client's parser
    assert status == 200
    assert 'jobctl_jobs_completed_total{queue="context-scraping",type="ping"} 1.0' in text


def test_worker_name_held_by_a_live_worker_is_refused(fast: Cli, tmp_path: Path) -> None:
    fast.start_worker(Q, log=tmp_path / "a.log", extra=("--name", "dup"))
    assert wait_until(
        lambda: any(w["name"].startswith("dup") for w in fast.json("queues", "--json")["workers"])
    )
    out = fast.run("worker", "--queue", Q, "--name", "dup", "--burst")
    assert out.returncode == ExitCode.INVALID_STATE and "held by a live worker" in out.stderr


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """A redis-server of our own (no persistence) that tests may freeze or restart empty."""
    port = _free_port()
    args = [
        "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        "--enable-debug-command", "yes", "--dir", str(tmp_path),
    ]  # fmt: skip
    procs = [subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    url = f"redis://127.0.0.1:{port}/0"
    conn = redis.Redis.from_url(url)
    assert wait_until(lambda: _pings(conn))

    def restart_empty() -> None:
        procs[0].kill()
        procs[0].wait()
        procs[0] = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_until(lambda: _pings(conn))

    try:
        yield url, restart_empty
    finally:
        procs[0].kill()
        procs[0].wait()


def _pings(conn: redis.Redis) -> bool:
    try:
        return bool(conn.ping())
    except redis.exceptions.ConnectionError:
        return False


def test_redis_frozen_longer_than_the_lease(
    fast: Cli, tmp_path: Path, private_redis: tuple[str, Any]
) -> None:
    url, _ = private_redis
    fast.env["JOBCTL_REDIS_URL"] = url
    fast.start_worker(Q, log=tmp_path / "w.log")
    job_id = fast.run("enqueue", "ping", "sleep_s=3", "--queue", Q).stdout.strip()
    assert wait_until(lambda: _running_on(fast, job_id) is not None)
    redis.Redis.from_url(url).execute_command("DEBUG", "SLEEP", "3")  # > 70 % of the 2 s heartbeat TTL
    assert wait_until(lambda: _row(fast, job_id)["status"] == "COMPLETED", timeout=30)
    events = _log_events(tmp_path / "w.log")
    assert any(e.get("event") == "self-fence" for e in events)
    fast.stop_all()  # while its Redis still runs
    assert _completions(job_id, tmp_path / "w.log") == 1
    assert _row(fast, job_id)["attempts"] >= 2


def test_redis_restarted_empty_loses_nothing(
    fast: Cli, tmp_path: Path, private_redis: tuple[str, Any]
) -> None:
    url, restart_empty = private_redis
    fast.env["JOBCTL_REDIS_URL"] = url
    ids = [fast.run("enqueue", "ping", "--queue", Q).stdout.strip() for _ in range(5)]
    restart_empty()
    assert redis.Redis.from_url(url).dbsize() == 0
    fast.start_worker(Q, log=tmp_path / "w.log")
    assert wait_until(lambda: all(_row(fast, j)["status"] == "COMPLETED" for j in ids), timeout=40)
    fast.stop_all()  # while its Redis still runs


def test_crash_between_row_and_redis_is_repaired(fast: Cli, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from jobctl.api import EnqueueRequest, JobctlAPI
    from jobctl.settings import load_settings

    api = JobctlAPI(load_settings(env=fast.env))
    new = api.prepare(EnqueueRequest("ping", {}, queue=Q, job_id="half-written"), datetime.now(UTC))
    api.backends.repo.insert_many([new], datetime.now(UTC))  # the row, and then the "crash"
    fast.start_worker(Q, log=tmp_path / "w.log")
    assert wait_until(lambda: _row(fast, "half-written")["status"] == "COMPLETED", timeout=40)
    api.close()


def _child_pid_running(fast: Cli, job_id: str) -> int | None:
    owner = _running_on(fast, job_id)
    if owner is None:
        return None
    info = redis.Redis.from_url(fast.env["JOBCTL_REDIS_URL"]).hget(f"jobctl:hb:{owner}", "info")
    return int(json.loads(info)["pid"]) if info else None


def test_process_pool_killing_only_the_parent_leaves_no_orphan(fast: Cli, tmp_path: Path) -> None:
    parent = fast.start_worker(
        Q, log=tmp_path / "p.log", extra=("--pool", "process", "-c", "2", "--name", "pp")
    )
    job_id = fast.run("enqueue", "ping", "sleep_s=30", "--queue", Q).stdout.strip()
    child = wait_until(lambda: _child_pid_running(fast, job_id))
    assert child and child != parent.pid
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    assert wait_until(lambda: not os.path.exists(f"/proc/{child}"), timeout=5)  # died with its parent
    fast.start_worker(Q, log=tmp_path / "t.log", extra=("--name", "rescuer"))
    assert wait_until(lambda: _running_on(fast, job_id) == "rescuer", timeout=15)
    assert _row(fast, job_id)["attempts"] == 2


def test_process_pool_restarts_a_dead_child_and_recovers_its_job(fast: Cli, tmp_path: Path) -> None:
    parent = fast.start_worker(
        Q, log=tmp_path / "p.log", extra=("--pool", "process", "-c", "1", "--name", "pc")
    )
    job_id = fast.run("enqueue", "ping", "sleep_s=8", "--queue", Q).stdout.strip()
    child = wait_until(lambda: _child_pid_running(fast, job_id))
    os.kill(child, signal.SIGKILL)
    assert wait_until(lambda: _row(fast, job_id)["status"] == "COMPLETED", timeout=45)
    assert _row(fast, job_id)["attempts"] == 2 and parent.poll() is None
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=20) == 0
