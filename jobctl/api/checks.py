"""`jobctl check`: a few figures judged against thresholds, for cron and alerting.

Each check reads one bounded figure from the database (the system of record; Redis is not
needed): FAILED jobs finished in a window (a range of ix_jobs_status_finished_at, counted up
to FAILED_CAP), how long the longest-waiting PENDING job has been due (jobs scheduled for
later are not waiting yet; a job waiting for its retry is due at its retry time), and how many
context sources are UNHEALTHY. A check fails when its value is above its threshold. The report
is one line (Nagios-style, with performance data after `|`) and a JSON document.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from jobctl.domain.errors import InvalidInputError, UnknownQueueError
from jobctl.domain.timeparse import utcnow

if TYPE_CHECKING:
    from jobctl.api.jobs import JobctlAPI
    from jobctl.store.ops_queries import OpsQueries

FAILED_CAP = 100_000  # counting stops here: an alert needs "more than N", not the exact total


@dataclass(frozen=True)
class CheckOptions:
    max_failed: int | None = None
    since: timedelta = timedelta(hours=1)
    max_queue_age: timedelta | None = None
    max_unhealthy_sources: int | None = None
    queues: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckResult:
    name: str  # failed_jobs, queue_age, unhealthy_sources
    value: float
    threshold: float
    unit: str  # "jobs", "s", "sources"
    reason: str  # one clause saying what was seen

    @property
    def ok(self) -> bool:
        return self.value <= self.threshold

    def perfdata(self) -> str:
        """Nagios performance data: label=value[UOM];warn;crit (the threshold is `crit`)."""
        uom = "s" if self.unit == "s" else ""
        return f"{self.name}={self.value:g}{uom};;{self.threshold:g}"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "threshold": self.threshold,
            "unit": self.unit,
            "verdict": "ok" if self.ok else "failed",
            "reason": self.reason,
        }


@dataclass(frozen=True)
class CheckReport:
    at: datetime
    results: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def line(self) -> str:
        """`OK: a; b | perf` or `FAILED: the failing reasons | perf` (one line)."""
        shown = self.results if self.ok else tuple(r for r in self.results if not r.ok)
        perf = " ".join(r.perfdata() for r in self.results)
        return f"{'OK' if self.ok else 'FAILED'}: {'; '.join(r.reason for r in shown)} | {perf}"

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "at": self.at.isoformat(),
            "line": self.line(),
            "checks": [r.to_json() for r in self.results],
        }


def run_checks(api: JobctlAPI, options: CheckOptions, now: datetime | None = None) -> CheckReport:
    """Evaluate the checks `options` asks for (at least one; InvalidInputError otherwise)."""
    from jobctl.store.dashboard_queries import DashboardQueries
    from jobctl.store.ops_queries import OpsQueries

    if options.max_failed is None and options.max_queue_age is None and options.max_unhealthy_sources is None:
        raise InvalidInputError(
            "nothing to check: give --max-failed, --max-queue-age and/or --max-unhealthy-sources"
        )
    for q in options.queues:
        if q not in api.settings.queues:
            raise UnknownQueueError(f"unknown queue {q!r} (known: {', '.join(sorted(api.settings.queues))})")
    now = now or utcnow()
    where = f" on {', '.join(options.queues)}" if options.queues else ""
    results: list[CheckResult] = []
    with api.backends.errors():
        queries = OpsQueries(api.backends.engine)
        if options.max_failed is not None:
            n = queries.count_failed_since(now - options.since, options.queues, cap=FAILED_CAP)
            many = f"at least {n}" if n >= FAILED_CAP else str(n)
            results.append(CheckResult(
                "failed_jobs", n, options.max_failed, "jobs",
                f"{many} job(s) failed in the last {_span(options.since)}{where} (max {options.max_failed})",
            ))  # fmt: skip
        if options.max_queue_age is not None:
            results.append(_queue_age(queries, now, options, where))
        if options.max_unhealthy_sources is not None:
            bad = DashboardQueries(api.backends.engine).count_unhealthy_sources(cap=FAILED_CAP)
            results.append(CheckResult(
                "unhealthy_sources", bad, options.max_unhealthy_sources, "sources",
                f"{bad} context source(s) UNHEALTHY (max {options.max_unhealthy_sources})",
            ))  # fmt: skip
    return CheckReport(now, tuple(results))


def _queue_age(queries: OpsQueries, now: datetime, options: CheckOptions, where: str) -> CheckResult:
    assert options.max_queue_age is not None
    due, oldest = queries.oldest_due_pending(now, options.queues)
    waited = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    limit = options.max_queue_age.total_seconds()
    if due == 0:
        reason = f"no job waiting{where} (max {_span(options.max_queue_age)})"
    else:
        reason = (
            f"oldest of {due} due PENDING job(s){where} has waited {_span(timedelta(seconds=waited))}"
            f" (max {_span(options.max_queue_age)})"
        )
    return CheckResult("queue_age", round(waited, 1), limit, "s", reason)


def _span(delta: timedelta) -> str:
    """1h, 5m, 90s, 1h30m: how operators typed it."""
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{seconds}s"
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out += f"{seconds // size}{unit}"
            seconds %= size
    return out
