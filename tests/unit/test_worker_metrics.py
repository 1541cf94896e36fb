"""jobctl.worker.metrics: a process's counts and its process-pool children's snapshots, added up
by WorkerCollector and read back through prometheus-client's exposition and parser."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from jobctl.worker.health import process_registry
from jobctl.worker.metrics import BUCKETS, Metrics, WorkerCollector


@dataclass
class Running:
    queue: str
    job_type: str


def scrape(snapshots: list[dict[str, Any]], depth: dict[str, float]) -> dict[str, Any]:
    registry = process_registry(WorkerCollector(lambda: (snapshots, depth)))
    text = generate_latest(registry).decode()
    return {f.name: f for f in text_string_to_metric_families(text)}


def samples(family: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for s in family.samples}


def test_children_snapshots_are_summed() -> None:
    a = Metrics(running=lambda: [Running("q", "ping")])
    b = Metrics(running=lambda: [Running("q", "ping"), Running("r", "sync-rss")])
    for m, took in ((a, 0.02), (b, 3.0)):
        m.inc("jobs_started", "q", "ping")
        m.inc("jobs_completed", "q", "ping")
        m.observe("q", "ping", took)
        m.add_lease_renewals(2)
    b.inc("jobs_failed", "r", "sync-rss")
    # Children's snapshots travel through Redis as JSON: sum what comes out of it.
    snaps = [json.loads(json.dumps(m.snapshot())) for m in (a, b)]
    fams = scrape(snaps, {"q": 4.0, "r": 0.0})

    ping = (("queue", "q"), ("type", "ping"))
    assert samples(fams["jobctl_jobs_completed"])[("jobctl_jobs_completed_total", ping)] == 2
    assert samples(fams["jobctl_jobs_failed"]) == {
        ("jobctl_jobs_failed_total", (("queue", "r"), ("type", "sync-rss"))): 1
    }
    assert samples(fams["jobctl_lease_renewals"]) == {("jobctl_lease_renewals_total", ()): 4}
    hist = samples(fams["jobctl_job_duration_seconds"])
    assert hist[("jobctl_job_duration_seconds_count", ping)] == 2
    assert hist[("jobctl_job_duration_seconds_sum", ping)] == 3.02
    assert hist[("jobctl_job_duration_seconds_bucket", (("le", "0.025"), *ping))] == 1  # cumulative
    assert hist[("jobctl_job_duration_seconds_bucket", (("le", "5.0"), *ping))] == 2
    assert hist[("jobctl_job_duration_seconds_bucket", (("le", "+Inf"), *ping))] == 2
    assert len([k for k in hist if k[0].endswith("_bucket")]) == len(BUCKETS) + 1
    running = samples(fams["jobctl_jobs_running"])
    assert running[("jobctl_jobs_running", ping)] == 2
    assert running[("jobctl_jobs_running", (("queue", "r"), ("type", "sync-rss")))] == 1
    assert samples(fams["jobctl_queue_depth"])[("jobctl_queue_depth", (("queue", "q"),))] == 4
    assert fams["process_resident_memory_bytes"].type == "gauge"


def test_a_snapshot_of_another_version_adds_what_it_can() -> None:
    ours = Metrics()
    ours.inc("jobs_completed", "q", "ping")
    ours.observe("q", "ping", 1.0)
    other = {
        "counters": {"jobs_completed": [["q", "ping", 2]], "jobs_teleported": [["q", "ping", 9]]},
        "durations": [["q", "ping", [1.0, 1.0, 5.0]]],  # other buckets: not addable to ours
    }
    fams = scrape([ours.snapshot(), other, {}], {})
    ping = (("queue", "q"), ("type", "ping"))
    assert samples(fams["jobctl_jobs_completed"])[("jobctl_jobs_completed_total", ping)] == 3
    assert "jobctl_jobs_teleported" not in fams
    assert samples(fams["jobctl_job_duration_seconds"])[("jobctl_job_duration_seconds_count", ping)] == 1


def test_nothing_counted_yet_still_names_every_family() -> None:
    fams = scrape([], {})
    for name in (
        "jobctl_jobs_started",
        "jobctl_job_duration_seconds",
        "jobctl_jobs_running",
        "jobctl_queue_depth",
    ):
        assert name in fams
    assert fams["jobctl_jobs_started"].type == "counter" and fams["jobctl_jobs_running"].type == "gauge"
