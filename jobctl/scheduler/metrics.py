"""The scheduler's numbers, exposed through prometheus-client on `--health-port` /metrics.

`SchedulerMetrics` keeps plain numbers (one process, the loop's thread writing) and is itself a
prometheus-client collector: `collect()` yields them as metric families at scrape time, and
jobctl.worker.health.process_registry adds the standard process_* and python_* metrics.

Names: `jobctl_scheduler_leader`, `_fencing_token`, `_schedules`,
`_last_step_timestamp_seconds` (gauges); `_backend_errors_total`, `_firings_total{outcome}`
(counters); `_fire_delay_seconds` (histogram).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

# Fire delay (fire time -> job row written). The bar is 1 s; the buckets resolve well below it.
DELAY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
DELAY_LE = tuple(floatToGoString(b) for b in DELAY_BUCKETS)  # type: ignore[no-untyped-call]
OUTCOMES = ("enqueued", "skipped", "missed", "error", "duplicate")


class SchedulerMetrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.firings: Counter[str] = Counter()  # by outcome: one of OUTCOMES
        self.leader = False
        self.token = 0
        self.schedules = 0
        self.last_step_unix = 0.0
        self.backend_errors = 0
        self._bucket_counts = [0] * len(DELAY_BUCKETS)  # cumulative: each bound counts all below it
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

    def collect(self) -> Iterator[Metric]:
        """The metric families of this moment (prometheus-client's collector protocol)."""
        with self._lock:
            firings = dict(self.firings)
            buckets = list(zip(DELAY_LE, self._bucket_counts, strict=True))
            count, total = self._delay_count, self._delay_sum
        yield GaugeMetricFamily(
            "jobctl_scheduler_leader", "1 if this process leads (fires ticks), 0 on standby.",
            value=int(self.leader),
        )  # fmt: skip
        yield GaugeMetricFamily(
            "jobctl_scheduler_fencing_token", "The fencing token of this process's current lease.",
            value=self.token,
        )  # fmt: skip
        yield GaugeMetricFamily(
            "jobctl_scheduler_schedules", "Enabled schedules seen by the last pass.", value=self.schedules
        )
        yield GaugeMetricFamily(
            "jobctl_scheduler_last_step_timestamp_seconds", "When the loop last completed a pass.",
            value=self.last_step_unix, unit="seconds",
        )  # fmt: skip
        yield CounterMetricFamily(
            "jobctl_scheduler_backend_errors", "Passes that failed on Redis or the database.",
            value=self.backend_errors,
        )  # fmt: skip
        outcomes = CounterMetricFamily(
            "jobctl_scheduler_firings", "Ticks handled, by outcome.", labels=("outcome",)
        )
        for outcome in OUTCOMES:
            outcomes.add_metric((outcome,), firings.get(outcome, 0))
        yield outcomes
        yield HistogramMetricFamily(
            "jobctl_scheduler_fire_delay_seconds", "Fire time to job row written.",
            buckets=[*buckets, ("+Inf", count)], sum_value=total, unit="seconds",
        )  # fmt: skip
