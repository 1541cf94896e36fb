"""Worker metrics in Prometheus text format, kept in memory (no client library needed).

Counters and a duration histogram are labelled by queue and job type. A process pool's
children publish their snapshots with their heartbeat; the parent adds them up for /metrics.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

COUNTERS = {
    "jobs_started": "Executions started",
    "jobs_completed": "Executions that completed",
    "jobs_failed": "Jobs that ended FAILED",
    "jobs_retried": "Failed attempts scheduled for a retry",
    "jobs_recovered": "Jobs recovered from dead, cut-off or hung executions",
    "jobs_released": "Executions handed back unfinished (shutdown, self-fencing) without spending a retry",
    "jobs_cancelled": "Running jobs stopped by an operator's cancel",
    "late_finishes_rejected": "Results of executions that were already given up on, refused by the fence",
}
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)

Labels = tuple[str, str]  # (queue, job_type)


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counters: dict[str, dict[Labels, float]] = {name: defaultdict(float) for name in COUNTERS}
        self.durations: dict[Labels, list[float]] = {}  # bucket counts..., +Inf count, sum
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
        with self._lock:
            return {
                "counters": {n: [[q, t, v] for (q, t), v in c.items()] for n, c in self.counters.items()},
                "durations": [[q, t, list(v)] for (q, t), v in self.durations.items()],
                "lease_renewals": self.lease_renewals,
            }

    def totals(self, queue: str) -> dict[str, float]:
        with self._lock:
            return {n: sum(v for (q, _), v in c.items() if q == queue) for n, c in self.counters.items()}


def render(snapshots: Iterable[dict[str, Any]], gauges: dict[str, dict[tuple[str, ...], float]]) -> str:
    """Prometheus text exposition of summed snapshots plus gauges {name: {labels: value}}."""
    counters: dict[str, dict[Labels, float]] = {n: defaultdict(float) for n in COUNTERS}
    durations: dict[Labels, list[float]] = {}
    renewals = 0.0
    for snap in snapshots:
        for name, rows in snap.get("counters", {}).items():
            for q, t, v in rows:
                counters.setdefault(name, defaultdict(float))[(q, t)] += v
        for q, t, values in snap.get("durations", []):
            acc = durations.setdefault((q, t), [0.0] * len(values))
            for i, v in enumerate(values):
                acc[i] += v
        renewals += snap.get("lease_renewals", 0)
    lines: list[str] = []
    for name, help_text in COUNTERS.items():
        lines += [f"# HELP jobctl_{name}_total {help_text}", f"# TYPE jobctl_{name}_total counter"]
        for (q, t), v in sorted(counters[name].items()):
            lines.append(f'jobctl_{name}_total{{queue="{q}",type="{t}"}} {v:g}')
    lines += [
        "# HELP jobctl_job_duration_seconds Execution time",
        "# TYPE jobctl_job_duration_seconds histogram",
    ]
    for (q, t), v in sorted(durations.items()):
        for bound, count in zip(BUCKETS, v, strict=False):
            lines.append(
                f'jobctl_job_duration_seconds_bucket{{queue="{q}",type="{t}",le="{bound:g}"}} {count:g}'
            )
        lines.append(f'jobctl_job_duration_seconds_bucket{{queue="{q}",type="{t}",le="+Inf"}} {v[-2]:g}')
        lines.append(f'jobctl_job_duration_seconds_count{{queue="{q}",type="{t}"}} {v[-2]:g}')
        lines.append(f'jobctl_job_duration_seconds_sum{{queue="{q}",type="{t}"}} {v[-1]:g}')
    lines += [
        "# HELP jobctl_lease_renewals_total Job lease renewals",
        "# TYPE jobctl_lease_renewals_total counter",
    ]
    lines.append(f"jobctl_lease_renewals_total {renewals:g}")
    for name, series in gauges.items():
        lines.append(f"# TYPE jobctl_{name} gauge")
        for labels, value in sorted(series.items()):
            label_text = ",".join(f'{k}="{v}"' for k, v in zip(("queue", "type"), labels, strict=False))
            lines.append(
                f"jobctl_{name}{{{label_text}}} {value:g}" if label_text else f"jobctl_{name} {value:g}"
            )
    return "\n".join(lines) + "\n"
