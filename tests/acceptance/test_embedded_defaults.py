"""With nothing configured, jobctl runs on its own: a private Redis and SQLite in its data dir."""

from __future__ import annotations

from pathlib import Path

from cli_support import Cli, wait_until

Q = "context-scraping"


def test_ping_on_embedded_defaults(embedded_cli: Cli, tmp_path: Path) -> None:
    cli = embedded_cli
    cli.start_worker(Q, log=tmp_path / "worker.log")
    out = cli.run("ping", "--queue", Q, "--timeout", "30")
    assert out.returncode == 0, out.stderr + (tmp_path / "worker.log").read_text()
    assert out.stdout.startswith("pong from ")
    status = cli.json("redis", "status", "--json")
    assert status["running"] and status["in_use"] and status["socket_path"].endswith("redis.sock")
    db = cli.json("db", "status", "--json")
    assert db["embedded"] and db["up_to_date"] and db["url"].startswith("sqlite:///")
    assert (tmp_path / "data" / "jobctl.db").exists()
    # a second worker process shares the same private server
    cli.start_worker("analytics-sync", log=tmp_path / "worker2.log")
    assert cli.run("ping", "--queue", "analytics-sync", "--timeout", "30").returncode == 0
    assert cli.json("redis", "status", "--json")["pid"] == status["pid"]
    # two processes, each with its queue's slots (30 and 60 RQ worker identities)
    assert wait_until(lambda: len({w["pid"] for w in cli.json("queues", "--json")["workers"]}) == 2)
    slots = {q["name"]: q["workers"] for q in cli.json("queues", "--json")["queues"]}
    assert slots["context-scraping"] == 30 and slots["analytics-sync"] == 60


def test_redis_stop_and_restart_keeps_queued_jobs(embedded_cli: Cli) -> None:
    cli = embedded_cli
    job_id = cli.run("enqueue", "ping", "--queue", Q).stdout.strip()
    assert cli.run("redis", "stop").stdout.strip() == "embedded Redis stopped"
    assert not cli.json("redis", "status", "--json")["running"]
    overview = cli.json("queues", "--json")  # started again on demand, queue intact (AOF)
    assert next(q for q in overview["queues"] if q["name"] == Q)["queued"] == 1
    assert cli.json("jobs", "show", job_id, "--json")["status"] == "PENDING"
