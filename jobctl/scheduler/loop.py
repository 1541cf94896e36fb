"""The scheduler loop: lead through a Redis lease, fire due ticks, sleep until the next one.

Any number of `jobctl scheduler` processes may run. One leads (it holds the lease and fires);
the others poll the lease and take over within its TTL when the leader stops renewing.
Firing is exactly-once even across a leader change: every tick is claimed in the database
under the leader's fencing token (see ScheduleRepository.claim_tick), so a leader that was
paused past its lease is refused, and a tick is recorded once whoever claims it.

Accuracy: the leader sleeps until the earliest next tick, never longer than `max_sleep_s`
(1 s), so a tick is enqueued within milliseconds of its time and a schedule added, paused or
triggered elsewhere is seen within a second. Each pass is one query for the enabled
schedules; croniter runs only when a schedule's last tick changes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.exceptions import RedisError

from jobctl.domain.errors import BackendUnavailableError, InvalidInputError, JobctlError
from jobctl.domain.records import JobRecord
from jobctl.domain.redaction import redact
from jobctl.domain.schedules import ClaimResult, FiringOutcome, ScheduleRecord, firing_job_id
from jobctl.domain.timeparse import utcnow
from jobctl.queue.lease import RedisLease
from jobctl.scheduler.cron import CronSchedule
from jobctl.scheduler.leadership import Leadership
from jobctl.scheduler.metrics import SchedulerMetrics
from jobctl.scheduler.planning import DEFAULT_GRACE, Due, plan
from jobctl.store.schedules_repo import ScheduleRepository

log = logging.getLogger("jobctl.scheduler")

EnqueueFn = Callable[[ScheduleRecord, datetime, str], JobRecord]
"""Enqueue one firing (schedule, fire time, job id) through the producer path; raises JobctlError."""


@dataclass(frozen=True)
class SchedulerConfig:
    max_sleep_s: float = 1.0  # longest sleep of the leader between passes
    health_interval_s: float = 60.0  # health log line (and repair pass) period
    grace: timedelta = DEFAULT_GRACE  # a tick this late still counts as on time
    repair_window_s: float = 3600.0  # firings this recent are checked for a missing job row
    repair_settle_s: float = 5.0  # ... once they are this old


class Scheduler:
    def __init__(
        self,
        repo: ScheduleRepository,
        lease: RedisLease,
        enqueue: EnqueueFn,
        config: SchedulerConfig | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        metrics: SchedulerMetrics | None = None,
    ) -> None:
        self.repo, self.lease, self.enqueue = repo, lease, enqueue
        self.config = config or SchedulerConfig()
        self.clock, self.monotonic = clock, monotonic
        self.metrics = metrics or SchedulerMetrics()
        self.leadership = Leadership(lease, monotonic=monotonic, on_change=self._on_leadership)
        self.next_runs: dict[str, datetime] = {}
        self.last_error: str | None = None
        self._crons: dict[tuple[str, str], CronSchedule | None] = {}
        self._first: dict[str, tuple[datetime, tuple[str, str], datetime]] = {}
        self._last_step: float | None = None
        self._last_health: float | None = None
        self._repair_due = True

    @property
    def holder(self) -> str:
        return self.lease.holder

    @property
    def token(self) -> int | None:
        return self.leadership.token

    @property
    def is_leader(self) -> bool:
        return self.leadership.token is not None

    def _on_leadership(self, token: int | None) -> None:
        self.metrics.leader = token is not None
        self.metrics.token = token or 0
        if token is not None:
            self._repair_due = True  # a new leader first repairs what a previous one left

    # -- the loop ----------------------------------------------------------------------------

    def run(self, stop: threading.Event, *, once: bool = False) -> bool:
        """Pass after pass until `stop` is set (or one pass with `once`); True if it ever led."""
        led = False
        try:
            while True:
                delay = self.step()
                led = led or self.is_leader
                if once or stop.wait(delay):
                    break
        finally:
            self.resign()
        return led

    def step(self) -> float:
        """One pass; returns how long to sleep before the next. Backend outages are logged and
        retried after a short pause, never fatal."""
        try:
            delay = self._step()
        except (BackendUnavailableError, RedisError, OSError) as exc:
            message = redact(str(exc)) or type(exc).__name__
            if message != self.last_error:
                log.warning(f"scheduler pass failed, retrying: {message}", extra={"event": "scheduler-error"})
            self.last_error = message
            self.metrics.backend_errors += 1
            return min(2.0, self.lease.ttl_s / 3)
        self.last_error = None
        self._last_step = self.monotonic()
        self.metrics.last_step_unix = time.time()
        return delay

    def _step(self) -> float:
        cfg = self.config
        now = self.clock()
        if not self.leadership.lead():
            self._maybe_health(now)
            return min(cfg.max_sleep_s, self.lease.ttl_s / 4)
        if self._repair_due:
            self.repair(now)
        next_wake = self.tick(now)
        self._maybe_health(now)
        delay = cfg.max_sleep_s
        if next_wake is not None:
            # +1 ms: wake just after the tick, not a hair before it (then nothing would be due).
            delay = (next_wake - self.clock()).total_seconds() + 0.001
        return max(0.0, min(delay, cfg.max_sleep_s, self.leadership.renew_in()))

    def resign(self) -> None:
        self.leadership.resign()

    # -- ticks ---------------------------------------------------------------------------------

    def tick(self, now: datetime) -> datetime | None:
        """Handle every due tick as of `now`; return the earliest next tick (None if none)."""
        schedules = self.repo.list(enabled_only=True)
        self.metrics.schedules = len(schedules)
        self._forget_except({s.id for s in schedules})
        self.next_runs = {}
        next_wake: datetime | None = None
        for sch in schedules:
            cron = self._cron(sch)
            if cron is None:
                continue
            since = max(sch.active_since, sch.last_tick_at or sch.active_since)
            first = self._first_after(sch, cron, since)
            upcoming = first
            if first <= now:
                todo = plan(cron, since, now, sch.catch_up, grace=self.config.grace, first=first)
                if todo.due is None:  # pragma: no cover - first <= now always yields a due tick
                    continue
                if not self.leadership.still_leading() or not self._handle(sch, todo.due):
                    return None
                upcoming = todo.next_at
            self.next_runs[sch.name] = upcoming
            next_wake = upcoming if next_wake is None else min(next_wake, upcoming)
        return next_wake

    def _handle(self, sch: ScheduleRecord, due: Due) -> bool:
        """Claim and fire one tick; False if this process must stop acting (fenced)."""
        if self.token is None:
            return False
        firing = due.outcome == FiringOutcome.ENQUEUED
        job_id = firing_job_id(sch.job_type, sch.id, due.fire_time)
        result, reason = self.repo.claim_tick(
            sch.id, due.fire_time, job_id=job_id if firing else None, outcome=due.outcome,
            reason=due.reason, token=self.token, holder=self.holder, now=self.clock(), fence=self.lease.name,
        )  # fmt: skip
        when = due.fire_time.isoformat()
        extra = {"job_type": sch.job_type, "event": f"schedule-{result.value}"}
        if result == ClaimResult.FENCED:
            if not self.leadership.recover_lost_counter(self.repo.fence_token(self.lease.name)):
                self.leadership.lose("a newer leader wrote with a larger fencing token")
            return False
        if result in (ClaimResult.DUPLICATE, ClaimResult.INACTIVE):
            if result == ClaimResult.DUPLICATE:
                self.metrics.count("duplicate")
            log.debug(f"schedule {sch.name} tick {when}: {result.value}", extra=extra)
        elif result == ClaimResult.SKIPPED:
            self.metrics.count("skipped")
            log.info(f"schedule {sch.name} skipped tick {when}: {reason}", extra=extra)
        elif not firing:
            self.metrics.count("missed")
            log.warning(f"schedule {sch.name} missed tick {when}: {due.reason}", extra=extra)
        else:
            if due.reason:
                log.info(f"schedule {sch.name}: {due.reason}", extra={**extra, "event": "schedule-catch-up"})
            self._enqueue(sch, due.fire_time, job_id)
        return True

    def _enqueue(self, sch: ScheduleRecord, fire_time: datetime, job_id: str) -> None:
        extra: dict[str, object] = {"job_id": job_id, "job_type": sch.job_type}
        try:
            job = self.enqueue(sch, fire_time, job_id)
        except BackendUnavailableError:
            log.warning(f"schedule {sch.name}: job {job_id} recorded but not enqueued yet; will retry")
            self._repair_due = True
            raise
        except JobctlError as exc:
            self.repo.set_firing_outcome(sch.id, fire_time, FiringOutcome.ERROR, exc.message)
            self.metrics.count("error")
            log.error(
                f"schedule {sch.name} could not enqueue: {exc.message}",
                extra={**extra, "event": "schedule-error"},
            )
            return
        self.repo.mark_written(sch.id, fire_time)
        delay = (job.created_at - fire_time).total_seconds()
        self.metrics.count("enqueued")
        self.metrics.observe_delay(max(0.0, delay))
        log.info(
            f"schedule {sch.name} fired tick {fire_time.isoformat()} ({delay * 1000:.0f} ms after its time)",
            extra={**extra, "queue": job.queue, "event": "schedule-fire"},
        )

    def repair(self, now: datetime) -> int:
        """Enqueue firings that were recorded but whose job never got written (idempotent)."""
        self._repair_due = False
        cfg = self.config
        since = now - timedelta(seconds=cfg.repair_window_s)
        repaired = 0
        for schedule_id, fire_time, job_id in self.repo.orphan_firings(
            since, now - timedelta(seconds=cfg.repair_settle_s)
        ):
            sch = self.repo.get(schedule_id)
            if sch is None:
                continue
            log.info(f"schedule {sch.name}: enqueueing job {job_id}, recorded but never written")
            self._enqueue(sch, fire_time, job_id)
            repaired += 1
        return repaired

    # -- caches ------------------------------------------------------------------------------------

    def _cron(self, sch: ScheduleRecord) -> CronSchedule | None:
        key = (sch.cron, sch.timezone)
        if key not in self._crons:
            try:
                self._crons[key] = CronSchedule(sch.cron, sch.timezone)
            except InvalidInputError as exc:  # validated on write; a vanished tz database is possible
                log.error(f"schedule {sch.name} cannot run: {exc.message}", extra={"event": "schedule-error"})
                self._crons[key] = None
        return self._crons[key]

    def _first_after(self, sch: ScheduleRecord, cron: CronSchedule, since: datetime) -> datetime:
        key = (sch.cron, sch.timezone)
        cached = self._first.get(sch.id)
        if cached is not None and cached[0] == since and cached[1] == key:
            return cached[2]
        first = cron.next_after(since)
        self._first[sch.id] = (since, key, first)
        return first

    def _forget_except(self, ids: set[str]) -> None:
        for gone in set(self._first) - ids:
            del self._first[gone]

    # -- health ------------------------------------------------------------------------------------

    def _maybe_health(self, now: datetime) -> None:
        mono = self.monotonic()
        if self._last_health is not None and mono - self._last_health < self.config.health_interval_s:
            return
        self._last_health = mono
        if self.is_leader:
            self._repair_due = True  # the repair pass runs at the health period
        else:
            self._standby_next_runs(now)
        log.info(self.health_line(), extra={"event": "scheduler-health", "status": self.role})

    def _standby_next_runs(self, now: datetime) -> None:
        self.next_runs = {}
        for sch in self.repo.list(enabled_only=True):
            cron = self._cron(sch)
            if cron is not None:
                since = max(sch.active_since, sch.last_tick_at or sch.active_since, now)
                self.next_runs[sch.name] = cron.next_after(since)

    @property
    def role(self) -> str:
        return "leader" if self.is_leader else "standby"

    def health_line(self, shown: int = 10) -> str:
        """One line: role, active schedules and their next run times (soonest first)."""
        who = f"leader (token {self.token})" if self.is_leader else "standby"
        runs = sorted(self.next_runs.items(), key=lambda item: item[1])
        line = f"scheduler health: {self.holder} is {who}; {len(runs)} active schedule(s)"
        if runs:
            parts = [f"{name} at {at.strftime('%Y-%m-%dT%H:%M:%SZ')}" for name, at in runs[:shown]]
            more = f" (+{len(runs) - shown} more)" if len(runs) > shown else ""
            line += "; next: " + ", ".join(parts) + more
        return line

    def health(self) -> tuple[bool, dict[str, object]]:
        """For the health server: healthy while passes complete and backends answer."""
        age = None if self._last_step is None else self.monotonic() - self._last_step
        limit = max(5.0, 3 * self.config.max_sleep_s)
        ok = age is not None and age < limit and self.last_error is None
        runs = sorted(self.next_runs.items(), key=lambda item: item[1])[:20]
        return ok, {
            "role": self.role,
            "holder": self.holder,
            "token": self.token,
            "last_pass_age_s": round(age, 3) if age is not None else None,
            "error": self.last_error,
            "schedules": len(self.next_runs),
            "next_runs": {name: at.isoformat() for name, at in runs},
        }
