"""The retention sweep: prune what the `[retention]` windows let go, a bounded batch at a time,
under a fleet-wide lease, so a database that runs for years stays the size of its window.

One sweep walks jobctl.domain.retention.RULES. Each batch is one short transaction of at most
`batch_size` rows (5,000 by default), chosen oldest first by primary key from the rule's
indexed time column; between batches the sweep pauses twice as long as the batch took (at
least PAUSE_MIN_S), so it holds the database at most a third of the time and workers' writes
are not starved. Finished jobs go with their attempt rows (same transaction), then their Redis side in
one pipeline (jobctl.queue.control.purge: RQ hash and result, progress and log keys, cancel
flag, loss count). PENDING and RUNNING jobs never match.

Only one sweep runs at a time fleet-wide: it holds the Redis lease `retention`
(jobctl.queue.lease), renewed before every batch; a sweep that finds it held elsewhere raises
SweepBusyError, one that loses it stops after the current batch. A sweep that stops half-way
(lease lost, shutdown) leaves nothing inconsistent: every batch is complete, and the next
sweep continues where it ended. Who owns the sweep: every `jobctl scheduler` process runs
RetentionLoop (hourly, whoever gets the lease), and `jobctl db prune` runs one by hand.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobctl.domain.errors import ExitCode, JobctlError
from jobctl.domain.redaction import redact
from jobctl.domain.retention import JOBS_TABLE, RULES, PruneReport, RetentionRule, TablePrune
from jobctl.domain.timeparse import utcnow
from jobctl.queue.control import purge as purge_redis
from jobctl.queue.lease import RedisLease
from jobctl.retention_config import RetentionSettings
from jobctl.worker.recovery import losses_key

if TYPE_CHECKING:
    from redis import Redis

    from jobctl.store.retention_queries import RetentionQueries

log = logging.getLogger("jobctl.retention")

LEASE_NAME = "retention"
LAST_SWEEP_KEY = "jobctl:retention:last"  # JSON of the last complete sweep (doctor shows it)
PAUSE_MIN_S = 0.05
# Pause twice as long as a batch took: the sweep holds the database (and this machine's CPU)
# a third of the time at most. Measured on PostgreSQL, 2 loaded cores, a 4-slot worker on ping
# jobs (benchmarks/retention_prune.py, 200,000 rows): with a pause equal to the batch, the
# worker's jobs/s fell 21 % while the sweep ran; see the benchmark row for this setting.
PAUSE_RATIO = 2.0
INTERVAL_S = 3600.0  # a complete sweep this recent (by any process) makes the next one wait


class SweepBusyError(JobctlError):
    """Another process holds the retention lease (exit 11: the prune does not apply now)."""

    title = "retention sweep busy"
    exit_code = ExitCode.INVALID_STATE


class RetentionSweep:
    """One sweep's parts: the store's queries, Redis (lease and job keys), the windows."""

    def __init__(
        self,
        queries: RetentionQueries,
        redis: Redis,
        settings: RetentionSettings,
        holder: str,
        *,
        rules: Sequence[RetentionRule] = RULES,
        lease_ttl_s: float = 60.0,
        pause_ratio: float = PAUSE_RATIO,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.queries, self.redis, self.settings, self.rules = queries, redis, settings, tuple(rules)
        self.lease = RedisLease(redis, LEASE_NAME, holder, lease_ttl_s)
        self.pause_ratio = pause_ratio
        self.monotonic = monotonic
        self.statements = 0  # DELETE transactions run by this object (tests bound them)

    def run(
        self, now: datetime, *, dry_run: bool = False, stop: threading.Event | None = None
    ) -> PruneReport:
        """Prune (or, dry, count) every rule's old rows as of `now`. A dry run changes nothing
        and takes no lease. Raises SweepBusyError when another process is sweeping."""
        stop = stop or threading.Event()
        report = PruneReport(now, dry_run, self.settings.batch_size)
        if not dry_run and self.lease.acquire() is None:
            holder = self.lease.current_holder() or "another process"
            raise SweepBusyError(f"{holder} is pruning now (lease {LEASE_NAME}); nothing done here")
        try:
            for rule in self.rules:
                part = self._plan(rule, now)
                report.tables.append(part)
                if part.skipped is not None or part.cutoff is None:
                    continue
                if dry_run:
                    part.deleted = self.queries.count_older(rule, part.cutoff)
                    continue
                report.stopped = self._prune(rule, part, stop)
                if report.stopped is not None:
                    break
        finally:
            if not dry_run:
                self.lease.release()
        if not dry_run:
            self._log(report)
        return report

    def _plan(self, rule: RetentionRule, now: datetime) -> TablePrune:
        days = self.settings.days(rule.setting)
        part = TablePrune(rule.table, days, rule.cutoff(now, days))
        if part.cutoff is None:
            part.skipped = "kept forever (0 days)"
        elif self.queries.table(rule.table) is None:
            part.skipped = "no such table"
        return part

    def _prune(self, rule: RetentionRule, part: TablePrune, stop: threading.Event) -> str | None:
        """Batch after batch until one comes back short; why it stopped early, else None."""
        assert part.cutoff is not None
        limit = self.settings.batch_size
        started = self.monotonic()
        try:
            while True:
                if stop.is_set():
                    return "stopping"
                if not self.lease.renew():
                    return "lease lost"
                t = self.monotonic()
                gone = self._batch(rule, part.cutoff, limit)
                self.statements += 1
                part.batches += 1
                part.deleted += gone
                if gone < limit:
                    return None
                # A worker's claim/complete never queues behind two batches in a row.
                stop.wait(max(PAUSE_MIN_S, (self.monotonic() - t) * self.pause_ratio))
        finally:
            part.seconds = self.monotonic() - started

    def _batch(self, rule: RetentionRule, cutoff: datetime, limit: int) -> int:
        if rule.table != JOBS_TABLE:
            return self.queries.delete_older(rule, cutoff, limit)
        gone = self.queries.delete_jobs(cutoff, limit)
        # The rows are gone: their Redis side follows in one pipeline per 1,000 jobs (a DEL of
        # 7 keys a job; ~25 ms per 1,000 on the local Redis), so no single command is long.
        for start in range(0, len(gone), 1000):
            chunk = gone[start : start + 1000]
            purge_redis(self.redis, chunk, [losses_key(job_id) for job_id, _ in chunk])
        return len(gone)

    def _log(self, report: PruneReport) -> None:
        shown = ", ".join(f"{t.table} {t.deleted}" for t in report.tables if t.skipped is None)
        took = sum(t.seconds for t in report.tables)
        if report.stopped is None:
            last = {"at": report.now.isoformat(), "finished_at": utcnow().isoformat(),
                    "holder": self.lease.holder, "deleted": {t.table: t.deleted for t in report.tables},
                    "seconds": round(took, 3)}  # fmt: skip
            self.redis.set(LAST_SWEEP_KEY, json.dumps(last))
        level = logging.INFO if report.deleted or report.stopped else logging.DEBUG
        state = f"stopped ({report.stopped})" if report.stopped else "done"
        log.log(level, f"retention sweep {state} in {took:.1f}s: deleted {shown or 'nothing'}",
                extra={"event": "retention-sweep"})  # fmt: skip


def last_sweep(redis: Redis) -> dict[str, Any] | None:
    """The last complete sweep (any process): when, by whom, what it deleted; None if never."""
    raw = redis.get(LAST_SWEEP_KEY)
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class RetentionLoop:
    """The scheduler process's sweep: a daemon thread that, every `check_s`, runs a sweep if
    no process completed one within `interval_s` (the lease makes concurrent ones wait)."""

    def __init__(
        self,
        sweep: RetentionSweep,
        stop: threading.Event,
        *,
        interval_s: float = INTERVAL_S,
        check_s: float = 60.0,
        first_check_s: float = 10.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sweep, self.stop = sweep, stop
        self.interval_s, self.check_s, self.first_check_s = interval_s, check_s, first_check_s
        self.clock = clock
        self.sweeps = 0  # sweeps this loop ran (complete or not)
        self.thread = threading.Thread(target=self._run, name="jobctl-retention", daemon=True)

    def start(self) -> RetentionLoop:
        self.thread.start()
        return self

    def join(self, timeout: float | None = None) -> None:
        self.thread.join(timeout)

    def due(self, now: datetime) -> bool:
        last = last_sweep(self.sweep.redis)
        if last is None or not isinstance(last.get("finished_at"), str):
            return True
        try:
            age = (now - datetime.fromisoformat(last["finished_at"])).total_seconds()
        except ValueError:
            return True
        return age >= self.interval_s

    def _run(self) -> None:
        delay = self.first_check_s
        while not self.stop.wait(delay):
            delay = self.check_s
            try:
                now = self.clock()
                if self.due(now):
                    self.sweeps += 1
                    self.sweep.run(now, stop=self.stop)
            except SweepBusyError:
                continue
            except Exception as exc:  # an outage or a bug must not end the scheduler
                message = redact(str(exc)) or type(exc).__name__
                log.warning(f"retention sweep failed: {message}", extra={"event": "retention-error"})
