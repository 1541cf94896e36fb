"""/metrics of a real worker (thread and process pools) and a real scheduler, scraped over HTTP
and read with prometheus-client's own parsers: our families with their types, the standard
process_* and python_* metrics, and a process pool's children summed into the parent's answer."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import Cli, base_env, wait_until
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families

Q = "context-scraping"
pytestmark = pytest.mark.slow

WORKER_FAMILIES = {
    "jobctl_jobs_started": "counter",
    "jobctl_jobs_completed": "counter",
    "jobctl_jobs_failed": "counter",
    "jobctl_jobs_retried": "counter",
    "jobctl_jobs_recovered": "counter",
    "jobctl_jobs_released": "counter",
    "jobctl_jobs_deferred": "counter",
    "jobctl_jobs_cancelled": "counter",
    "jobctl_late_finishes_rejected": "counter",
    "jobctl_lease_renewals": "counter",
    "jobctl_job_duration_seconds": "histogram",
    "jobctl_jobs_running": "gauge",
    "jobctl_queue_depth": "gauge",
}
STANDARD = ("process_resident_memory_bytes", "process_cpu_seconds", "process_open_fds", "python_info")


@pytest.fixture
def fast(sqlite_url: str, redis_url: str, tmp_path: Path) -> Iterator[Cli]:
    """Heartbeats every 0.5 s, so process-pool children publish their counts quickly."""
    env = base_env(tmp_path)
    env.update(
        {"JOBCTL_DATABASE_URL": sqlite_url, "JOBCTL_REDIS_URL": redis_url, "JOBCTL_HEARTBEAT_SECONDS": "0.5"}
    )
    c = Cli(env)
    assert c.run("db", "upgrade").returncode == 0
    try:
        yield c
    finally:
        c.stop_all()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape(base: str, accept: str | None = None) -> tuple[str, str]:
    """(content type, body) of GET /metrics."""
    req = urllib.request.Request(f"{base}/metrics", headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return resp.headers["Content-Type"], resp.read().decode()


def families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def value(fams: dict[str, Any], family: str, sample: str, **labels: str) -> float | None:
    found = [s for s in fams[family].samples if s.name == sample and s.labels == labels]
    return found[0].value if found else None


def _completed(fams: dict[str, Any]) -> float | None:
    return value(fams, "jobctl_jobs_completed", "jobctl_jobs_completed_total", queue=Q, type="ping")


def test_worker_metrics_parse_with_prometheus_client(fast: Cli, tmp_path: Path) -> None:
    port = _free_port()
    fast.start_worker(Q, log=tmp_path / "w.log", extra=("--health-port", str(port)))
    assert fast.run("ping", "--queue", Q, "--timeout", "20").returncode == 0
    base = f"http://127.0.0.1:{port}"

    ctype, text = wait_until(lambda: _try(scrape, base), timeout=10)
    assert ctype == CONTENT_TYPE_PLAIN_0_0_4  # the library's answer to a scraper that asks for no format
    fams = families(text)
    assert {n: fams[n].type for n in WORKER_FAMILIES} == WORKER_FAMILIES
    assert _completed(fams) == 1
    assert value(fams, "jobctl_jobs_started", "jobctl_jobs_started_total", queue=Q, type="ping") == 1
    hist = {(s.name, s.labels.get("le")): s.value for s in fams["jobctl_job_duration_seconds"].samples}
    assert hist[("jobctl_job_duration_seconds_count", None)] == 1
    assert hist[("jobctl_job_duration_seconds_bucket", "+Inf")] == 1
    assert value(fams, "jobctl_queue_depth", "jobctl_queue_depth", queue=Q) == 0
    for name in STANDARD:
        assert name in fams, name
    rss = value(fams, "process_resident_memory_bytes", "process_resident_memory_bytes")
    assert rss and rss > 1e6  # this worker's real RSS
    assert any(n.startswith("python_gc_") for n in fams)

    # Prometheus asking for OpenMetrics gets it, and it parses as such.
    ctype, text = scrape(base, "application/openmetrics-text; version=1.0.0; charset=utf-8")
    assert ctype.startswith("application/openmetrics-text")
    om = {f.name: f for f in openmetrics_families(text)}
    assert (
        om["jobctl_jobs_completed"].type == "counter"
        and om["jobctl_job_duration_seconds"].type == "histogram"
    )


def test_process_pool_children_are_summed_into_the_parent(fast: Cli, tmp_path: Path) -> None:
    port = _free_port()
    fast.start_worker(
        Q, log=tmp_path / "p.log", extra=("--pool", "process", "-c", "2", "--health-port", str(port))
    )
    base = f"http://127.0.0.1:{port}"
    # Four jobs that each hold a child for 3 s: one child cannot take them all. Each enqueue is
    # its own CLI process (0.5-1 s on a loaded 2-core machine), so with 0.5 s jobs one child could
    # finish each before the next arrived and run all four (seen once under load).
    for _ in range(4):
        assert fast.run("enqueue", "ping", "sleep_s=3", "--queue", Q).returncode == 0

    def all_completed() -> list[dict[str, object]] | None:
        rows: list[dict[str, object]] = fast.json("jobs", "list", "--json")
        return rows if len(rows) == 4 and all(r["status"] == "COMPLETED" for r in rows) else None

    rows = wait_until(all_completed, timeout=30)
    assert rows, fast.json("jobs", "list", "--json")
    assert len({r["worker"] for r in rows}) == 2, rows  # both children ran jobs: there is a sum to make
    # The children publish their counts with their heartbeat: the parent's answer catches up.
    assert wait_until(lambda: _completed(families(scrape(base)[1])) == 4, timeout=10)

    job_id = fast.run("enqueue", "ping", "sleep_s=30", "--queue", Q).stdout.strip()

    def running() -> float | None:
        fams = families(scrape(base)[1])
        return value(fams, "jobctl_jobs_running", "jobctl_jobs_running", queue=Q, type="ping")

    assert wait_until(lambda: running() == 1, timeout=10)  # a child's job, seen by the parent
    assert fast.run("jobs", "cancel", job_id).returncode == 0


def test_scheduler_metrics_parse_with_prometheus_client(fast: Cli, tmp_path: Path) -> None:
    assert fast.run("schedules", "add", "every-second", "ping", "* * * * * *", "--queue", Q).returncode == 0
    log = tmp_path / "s.log"
    with log.open("ab") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jobctl", "scheduler", "--health-port", "0", "--log-json"],
            env=fast.env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    fast.procs.append(proc)

    def listening() -> str | None:
        for line in log.read_text().splitlines():
            if line.startswith("{") and json.loads(line).get("event") == "health-listen":
                return str(json.loads(line)["message"].split(" on ", 1)[1].rsplit("/", 1)[0])
        return None

    base = wait_until(listening, timeout=20)
    assert base

    def fired() -> dict[str, Any] | None:
        """Once a tick was enqueued and a later one skipped (no worker runs the first job)."""
        fams = families(scrape(base)[1])
        by_outcome = {
            s.labels["outcome"]: s.value
            for s in fams["jobctl_scheduler_firings"].samples
            if s.name == "jobctl_scheduler_firings_total"
        }
        return fams if by_outcome["enqueued"] == 1 and by_outcome["skipped"] >= 1 else None

    fams = wait_until(fired, timeout=20)
    assert fams, "the scheduler enqueued no tick"
    types = {
        "jobctl_scheduler_leader": "gauge",
        "jobctl_scheduler_fencing_token": "gauge",
        "jobctl_scheduler_schedules": "gauge",
        "jobctl_scheduler_last_step_timestamp_seconds": "gauge",
        "jobctl_scheduler_backend_errors": "counter",
        "jobctl_scheduler_firings": "counter",
        "jobctl_scheduler_fire_delay_seconds": "histogram",
    }
    assert {n: fams[n].type for n in types} == types
    assert value(fams, "jobctl_scheduler_leader", "jobctl_scheduler_leader") == 1
    assert value(fams, "jobctl_scheduler_schedules", "jobctl_scheduler_schedules") == 1
    count = value(fams, "jobctl_scheduler_fire_delay_seconds", "jobctl_scheduler_fire_delay_seconds_count")
    assert count == 1  # the one enqueued tick's delay
    for name in STANDARD:
        assert name in fams, name


def _try(fn: Any, *args: Any) -> Any:
    """fn(*args), or None while the server is not up yet."""
    try:
        return fn(*args)
    except OSError:
        return None
