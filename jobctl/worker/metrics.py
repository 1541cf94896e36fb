"""Worker metrics: counted in memory by `Metrics`, exposed through prometheus-client.

Counters and a duration histogram are labelled by queue and job type. `Metrics` keeps plain
numbers (cheap to bump from every slot, JSON-ready for the heartbeat). A process pool's
children publish their `snapshot()` with their heartbeat, and the parent, which runs no job,
adds them up: `WorkerCollector` yields the sum of whatever snapshots its source returns, as
prometheus-client metric families, at scrape time. No prometheus-client metric objects are kept:
the numbers live in one place, and summing children's snapshots needs nothing but arithmetic.

Exposed names (all prefixed `jobctl_`): `jobs_{started,completed,failed,retried,recovered,
released,deferred,cancelled}_total`, `late_finishes_rejected_total`, `lease_renewals_total` (counters),
`job_duration_seconds` (histogram), `jobs_running` (gauge, from the snapshots too) and
`queue_depth` (gauge, read from Redis by the source).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

COUNTERS = {
    "jobs_started": "Executions started",
    "jobs_completed": "Executions that completed",
    "jobs_failed": "Jobs that ended FAILED",
    "jobs_retried": "Failed attempts scheduled for a retry",
    "jobs_recovered": "Jobs recovered from dead, cut-off or hung executions",
    "jobs_released": "Executions handed back unfinished (shutdown, self-fencing) without spending a retry",
    "jobs_deferred": "Executions that asked to wait (a rate limit): deferred without spending a retry",
    "jobs_cancelled": "Running jobs stopped by an operator's cancel",
    "late_finishes_rejected": "Results of executions that were already given up on, refused by the fence",
}
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
# The `le` label values, spelled as prometheus-client spells its own buckets ("1.0", "0.005").
LE = tuple(floatToGoString(b) for b in BUCKETS)  # type: ignore[no-untyped-call]

Labels = tuple[str, str]  # (queue, job_type)


class Running(Protocol):
    queue: str
    job_type: str


class Metrics:
    """The counts of one worker process. `running` lists its executions now (for the
    `jobs_running` gauge, which thereby travels with the snapshot like the counters)."""

    def __init__(self, running: Callable[[], Sequence[Running]] = list) -> None:
        self._running = running
        self._lock = threading.Lock()
        self.counters: dict[str, dict[Labels, float]] = {name: defaultdict(float) for name in COUNTERS}
        self.durations: dict[Labels, list[float]] = {}  # cumulative bucket counts..., +Inf count, sum
        self.lease_renewals = 0

    def inc(self, name: str, queue: str, job_type: str, by: float = 1) -> None:
        with self._lock:
            self.counters[name][(queue, job_type)] += by

    def observe(self, queue: str, job_type: str, seconds: float) -> None:
        with self._lock:
            row = self.durations.setdefault((queue, job_type), [0.0] * (len(BUCKETS) + 2))
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    row[i] += 1
            row[-2] += 1
            row[-1] += seconds

    def add_lease_renewals(self, n: int) -> None:
        with self._lock:
            self.lease_renewals += n

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready copy (published with the heartbeat)."""
        running: dict[Labels, int] = defaultdict(int)
        for e in self._running():
            running[(e.queue, e.job_type)] += 1
        with self._lock:
            return {
                "counters": {n: [[q, t, v] for (q, t), v in c.items()] for n, c in self.counters.items()},
                "durations": [[q, t, list(v)] for (q, t), v in self.durations.items()],
                "lease_renewals": self.lease_renewals,
                "running": [[q, t, n] for (q, t), n in running.items()],
            }

    def totals(self, queue: str) -> dict[str, float]:
        with self._lock:
            return {n: sum(v for (q, _), v in c.items() if q == queue) for n, c in self.counters.items()}


@dataclass
class Sums:
    """Snapshots added up (this process's and its children's)."""

    counters: dict[str, dict[Labels, float]] = field(default_factory=dict)
    durations: dict[Labels, list[float]] = field(default_factory=dict)
    lease_renewals: float = 0.0
    running: dict[Labels, float] = field(default_factory=lambda: defaultdict(float))

    @classmethod
    def of(cls, snapshots: Iterable[dict[str, Any]]) -> Sums:
        sums = cls({n: defaultdict(float) for n in COUNTERS})
        for snap in snapshots:
            for name, rows in snap.get("counters", {}).items():
                if name not in COUNTERS:
                    continue  # a child of another version may count more: expose only what we name
                for q, t, v in rows:
                    sums.counters[name][(q, t)] += v
            for q, t, values in snap.get("durations", []):
                if len(values) != len(BUCKETS) + 2:
                    continue  # other buckets: cannot be added to ours
                acc = sums.durations.setdefault((q, t), [0.0] * len(values))
                for i, v in enumerate(values):
                    acc[i] += v
            sums.lease_renewals += snap.get("lease_renewals", 0)
            for q, t, n in snap.get("running", []):
                sums.running[(q, t)] += n
        return sums


Depth = dict[str, float]  # queue -> jobs waiting
Source = Callable[[], tuple[list[dict[str, Any]], Depth]]


class WorkerCollector:
    """A prometheus-client collector: at each scrape, asks `source` for the snapshots to add up
    and the queue depths of the moment, and yields them as metric families."""

    def __init__(self, source: Source) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        snapshots, depth_by_queue = self.source()
        sums = Sums.of(snapshots)
        for name, help_text in COUNTERS.items():
            counter = CounterMetricFamily(f"jobctl_{name}", help_text, labels=("queue", "type"))
            for (q, t), v in sorted(sums.counters[name].items()):
                counter.add_metric((q, t), v)
            yield counter
        histogram = HistogramMetricFamily(
            "jobctl_job_duration_seconds", "Execution time", labels=("queue", "type"), unit="seconds"
        )
        for (q, t), row in sorted(sums.durations.items()):
            buckets = list(zip(LE, row, strict=False))
            histogram.add_metric((q, t), [*buckets, ("+Inf", row[-2])], sum_value=row[-1])
        yield histogram
        yield CounterMetricFamily("jobctl_lease_renewals", "Job lease renewals", value=sums.lease_renewals)
        running = GaugeMetricFamily(
            "jobctl_jobs_running", "Executions running now in this worker", labels=("queue", "type")
        )
        for (q, t), n in sorted(sums.running.items()):
            running.add_metric((q, t), n)
        yield running
        depth = GaugeMetricFamily("jobctl_queue_depth", "Jobs waiting in the RQ queue", labels=("queue",))
        for q, n in sorted(depth_by_queue.items()):
            depth.add_metric((q,), n)
        yield depth
