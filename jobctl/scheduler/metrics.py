"""The scheduler's numbers, rendered as Prometheus text for `--health-port` /metrics.

Kept by hand (a few counters, gauges and one histogram) rather than through a client library:
one process, one thread writing, no dependency.
"""

from __future__ import annotations

import threading
from collections import Counter

# Fire delay (fire time -> job row written). The bar is 1 s; the buckets resolve well below it.
DELAY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class SchedulerMetrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.firings: Counter[str] = Counter()  # by outcome: enqueued, skipped, missed, error, duplicate
        self.leader = False
        self.token = 0
        self.schedules = 0
        self.last_step_unix = 0.0
        self.backend_errors = 0
        self._bucket_counts = [0] * len(DELAY_BUCKETS)
        self._delay_count = 0
        self._delay_sum = 0.0

    def count(self, outcome: str) -> None:
        with self._lock:
            self.firings[outcome] += 1

    def observe_delay(self, seconds: float) -> None:
        with self._lock:
            self._delay_count += 1
            self._delay_sum += seconds
            for i, bound in enumerate(DELAY_BUCKETS):
                if seconds <= bound:
                    self._bucket_counts[i] += 1

    def render(self) -> str:
        with self._lock:
            lines = [
                "# HELP jobctl_scheduler_leader 1 if this process leads (fires ticks), 0 on standby.",
                "# TYPE jobctl_scheduler_leader gauge",
                f"jobctl_scheduler_leader {int(self.leader)}",
                "# HELP jobctl_scheduler_fencing_token The fencing token of this process's current lease.",
                "# TYPE jobctl_scheduler_fencing_token gauge",
                f"jobctl_scheduler_fencing_token {self.token}",
                "# HELP jobctl_scheduler_schedules Enabled schedules seen by the last pass.",
                "# TYPE jobctl_scheduler_schedules gauge",
                f"jobctl_scheduler_schedules {self.schedules}",
                "# HELP jobctl_scheduler_last_step_timestamp_seconds When the loop last completed a pass.",
                "# TYPE jobctl_scheduler_last_step_timestamp_seconds gauge",
                f"jobctl_scheduler_last_step_timestamp_seconds {self.last_step_unix:.3f}",
                "# HELP jobctl_scheduler_backend_errors_total Passes that failed on Redis or the database.",
                "# TYPE jobctl_scheduler_backend_errors_total counter",
                f"jobctl_scheduler_backend_errors_total {self.backend_errors}",
                "# HELP jobctl_scheduler_firings_total Ticks handled, by outcome.",
                "# TYPE jobctl_scheduler_firings_total counter",
            ]
            for outcome in ("enqueued", "skipped", "missed", "error", "duplicate"):
                lines.append(f'jobctl_scheduler_firings_total{{outcome="{outcome}"}} {self.firings[outcome]}')
            lines += [
                "# HELP jobctl_scheduler_fire_delay_seconds Fire time to job row written.",
                "# TYPE jobctl_scheduler_fire_delay_seconds histogram",
            ]
            for bound, count in zip(DELAY_BUCKETS, self._bucket_counts, strict=True):
                lines.append(f'jobctl_scheduler_fire_delay_seconds_bucket{{le="{bound}"}} {count}')
            lines += [
                f'jobctl_scheduler_fire_delay_seconds_bucket{{le="+Inf"}} {self._delay_count}',
                f"jobctl_scheduler_fire_delay_seconds_sum {self._delay_sum:.6f}",
                f"jobctl_scheduler_fire_delay_seconds_count {self._delay_count}",
            ]
        return "\n".join(lines) + "\n"
