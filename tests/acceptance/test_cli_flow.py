"""The CLI end to end with real worker processes: enqueue, wait, ping, cancel a running job,
JSON outputs, agreement with `rq info`, and refusal of jobs injected into Redis."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cli_support import Cli, wait_until

from jobctl.domain.errors import ExitCode

Q = "context-scraping"


def test_enqueue_wait_show_list(cli: Cli, tmp_path: Path) -> None:
    cli.start_worker(Q, log=tmp_path / "worker.log")
    out = cli.run("enqueue", "ping", "sleep_s=0.1", "--queue", Q, "--org", "acme", "--wait", "--json")
    assert out.returncode == 0, out.stderr
    job = json.loads(out.stdout)
    assert job["status"] == "COMPLETED" and job["result"]["pong"] is True
    assert job["organization_id"] == "acme" and job["payload"]["organization_id"] == "acme"
    shown = cli.json("jobs", "show", job["id"], "--json")
    assert shown["id"] == job["id"] and shown["attempts"] == 1
    listed = cli.json("jobs", "list", "--status", "completed", "--org", "acme", "--since", "1h", "--json")
    assert [j["id"] for j in listed] == [job["id"]]
    text = cli.run("jobs", "list")
    assert job["id"] in text.stdout and "COMPLETED" in text.stdout
    plain_id = cli.run("enqueue", "ping", "--queue", Q)
    assert plain_id.returncode == 0 and plain_id.stdout.strip().isalnum()  # the id alone


def test_wait_reports_failure_with_its_code(cli: Cli, tmp_path: Path) -> None:
    cli.start_worker(Q, log=tmp_path / "worker.log")
    out = cli.run("enqueue", "ping", "fail_attempts:=9", "--queue", Q, "--wait", "--json")
    assert out.returncode == ExitCode.JOB_FAILED, out.stderr
    job = json.loads(out.stdout)
    assert job["status"] == "FAILED" and job["attempts"] == 4
    assert "failed after 4 attempt(s)" in out.stderr
    ping = cli.run("ping", "--queue", Q, "--fail-attempts", "1", "--json")
    assert ping.returncode == 0, ping.stderr
    assert json.loads(ping.stdout)["attempts"] == 2


def test_ping_without_worker_times_out_and_cancels(cli: Cli) -> None:
    out = cli.run("ping", "--queue", Q, "--timeout", "1")
    assert out.returncode == ExitCode.TIMEOUT
    assert "is `jobctl worker --queue context-scraping` running?" in out.stderr
    jobs = cli.json("jobs", "list", "--json")
    assert [j["status"] for j in jobs] == ["CANCELLED"]


def test_cancel_stops_a_running_job(cli: Cli, tmp_path: Path) -> None:
    cli.start_worker(Q, log=tmp_path / "worker.log")
    job_id = cli.run("enqueue", "ping", "sleep_s=120", "--queue", Q).stdout.strip()
    assert wait_until(lambda: cli.json("jobs", "show", job_id, "--json")["status"] == "RUNNING")
    out = cli.run("jobs", "cancel", job_id)
    assert out.returncode == 0 and out.stdout.strip() == f"cancelled {job_id}"
    # the worker stops it within about a second and is free for the next job at once
    after = cli.run("ping", "--queue", Q, "--timeout", "10")
    assert after.returncode == 0, after.stderr
    row = cli.json("jobs", "show", job_id, "--json")
    assert row["status"] == "CANCELLED" and row["result"] is None
    overview = cli.json("queues", "--json")
    q = next(q for q in overview["queues"] if q["name"] == Q)
    assert q["cancelled"] == 1 and q["running"] == 0


def test_json_outputs_are_single_documents(cli: Cli) -> None:
    for args in (
        ("enqueue", "ping", "--queue", Q, "--json"),
        ("jobs", "list", "--json"),
        ("queues", "--json"),
        ("db", "status", "--json"),
        ("redis", "status", "--json"),
    ):
        out = cli.run(*args)
        assert out.returncode == 0, (args, out.stderr)
        json.loads(out.stdout)  # exactly one document: extra output would make this fail


def _rq_info(redis_url: str) -> dict[str, list[int]]:
    out = subprocess.run(
        [sys.executable, "-m", "rq.cli", "info", "--raw", "--only-queues", "-u", redis_url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    counts = {}
    for line in out.stdout.splitlines():
        # "queue NAME N, X executing, Y finished, Z failed"
        if line.startswith("queue "):
            name, rest = line.split()[1], line.split(" ", 2)[2]
            counts[name] = [int(part.strip().split()[0]) for part in rest.split(",")]
    return counts


def test_rq_info_agrees_with_jobctl_queues(cli: Cli, tmp_path: Path, redis_url: str) -> None:
    for _ in range(3):
        assert cli.run("enqueue", "ping", "--queue", "analytics-sync").returncode == 0
    cli.start_worker(Q, log=tmp_path / "worker.log")
    assert (
        cli.run("enqueue", "ping", "fail_attempts:=9", "--queue", Q, "--wait").returncode
        == ExitCode.JOB_FAILED
    )
    assert cli.run("enqueue", "ping", "--queue", Q, "--wait").returncode == 0
    ours = {q["name"]: q for q in cli.json("queues", "--json")["queues"]}
    theirs = _rq_info(redis_url)
    for name, (queued, executing, finished, failed) in theirs.items():
        assert (
            ours[name]["queued"],
            ours[name]["running"],
            ours[name]["completed"],
            ours[name]["failed"],
        ) == (
            queued,
            executing,
            finished,
            failed,
        ), name
    assert ours["analytics-sync"]["queued"] == 3 and ours[Q]["failed"] == 1


def test_jobs_injected_into_redis_are_never_executed(cli: Cli, tmp_path: Path, redis_url: str) -> None:
    import redis
    from rq import Queue
    from rq.serializers import JSONSerializer

    conn = redis.Redis.from_url(redis_url)
    marker = tmp_path / "pwned"
    json_q = Queue(Q, connection=conn, serializer=JSONSerializer)
    j1 = json_q.enqueue("os.system", f"touch {marker}")  # JSON, but not jobctl's function
    pickle_q = Queue(Q, connection=conn)  # RQ's default pickle serializer
    j2 = pickle_q.enqueue("pathlib.Path.touch", marker)
    j3 = json_q.enqueue("jobctl.queue.runner.execute", "x", on_success=_callback_name())
    out = subprocess.run(
        [sys.executable, "-m", "jobctl", "worker", "--queue", Q, "--burst", "--log-json"],
        env=cli.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert not marker.exists()
    failed = set(Queue(Q, connection=conn).failed_job_registry.get_job_ids())
    assert {j1.id, j2.id, j3.id} <= failed
    assert "not jobctl's entry point" in out.stdout + out.stderr


def _callback_name() -> object:
    from rq import Callback

    return Callback("os.getcwd")
