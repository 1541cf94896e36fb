"""The doctor's checks of jobs and processes: workers, queues without consumers, stalled RUNNING
rows, PENDING rows lost from Redis, overdue jobs, and the scheduler's leadership.

Every finding says who fixes it: a live worker's recovery sweep settles RUNNING rows whose
worker died (any worker sweeps every queue), its reconciler re-enqueues PENDING rows Redis
lost — both only while some worker runs — and the scheduler leader fires schedules. What
nothing will fix is a fail; what fixes itself, or may be intended, is a warn.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from jobctl.api.doctor import FAIL, OK, WARN, Check, guarded, not_checked
from jobctl.queue.backends import Backends
from jobctl.settings import Settings

PENDING_COUNT_CAP = 10_000  # "10,000+" is answer enough; counting further costs a scan
LOST_SAMPLE = 1_000  # the oldest PENDING rows checked against Redis (a reconciler pass checks all)
SETTLED_S = 10.0  # as the reconciler: a row changed more recently may be between its two writes
SCHEDULE_GRACE = timedelta(seconds=60)  # a tick this late still counts as on time (planning.py)
SHOWN = 5  # names listed in a one-line finding


class _Probed(Backends):
    """Backends over the doctor's already-open engine and client: nothing migrated or started."""

    def __init__(self, settings: Settings, engine: Any, redis: Any) -> None:
        super().__init__(settings)
        self.__dict__["engine"] = engine
        self.__dict__["redis"] = redis


@dataclass
class JobChecks:
    settings: Settings
    engine: Any  # an Engine at the current schema, or None
    redis: Any  # a Redis client, or None
    now: datetime
    overdue_after: timedelta
    db_problem: str | None = None
    redis_problem: str | None = None
    workers: list[Any] = field(default_factory=list)
    lost_by_queue: dict[str, int] = field(default_factory=dict)
    paused: dict[str, Any] = field(default_factory=dict)  # queue -> jobctl.queue.pause.PauseInfo

    def run(self) -> list[Check]:
        checks = guarded("workers", self.check_workers)
        checks += guarded("queues", self.check_queues)
        checks += guarded("stalled", self.check_stalled)
        checks += guarded("lost", self.check_lost)
        checks += guarded("overdue", self.check_overdue)
        checks += guarded("scheduler", self.check_scheduler)
        return checks

    def _missing(self, name: str, *, db: bool, redis: bool) -> Check | None:
        problems = [p for p, needed in ((self.db_problem, db), (self.redis_problem, redis)) if needed and p]
        if problems:
            return not_checked(name, " and ".join(problems))
        if db and self.engine is None:
            return Check(name, OK, "no jobs yet (the embedded database is not created yet)")
        return None

    @property
    def _backends(self) -> Backends:
        return _Probed(self.settings, self.engine, self.redis)

    # -- workers and queues ------------------------------------------------------------------

    def check_workers(self) -> Check:
        if (missing := self._missing("workers", db=False, redis=True)) is not None:
            return missing
        from jobctl.worker.doctor_probe import live_workers

        self.workers = live_workers(self.redis)
        details = {"workers": [w.to_json() for w in self.workers]}
        if not self.workers:
            return Check(
                "workers", WARN,
                "no live jobctl worker: nothing runs jobs, recovers stalled ones or re-enqueues lost ones",
                "start `jobctl worker --queue Q` for each queue", details,
            )  # fmt: skip
        busy = sum(len(w.running) for w in self.workers)
        slots = sum(w.concurrency for w in self.workers)
        shown = [
            f"{w.owner} ({','.join(w.queues)}; {len(w.running)}/{w.concurrency} busy)" for w in self.workers
        ]
        more = f" and {len(shown) - SHOWN} more" if len(shown) > SHOWN else ""
        return Check(
            "workers", OK,
            f"{len(self.workers)} live worker(s), {busy}/{slots} slots busy: "
            f"{', '.join(shown[:SHOWN])}{more}",
            None, details,
        )  # fmt: skip

    def _consumers(self, queue: str) -> list[Any]:
        return [w for w in self.workers if queue in w.queues]

    def check_queues(self) -> list[Check]:
        names = list(self.settings.queues)
        if (missing := self._missing("queues", db=True, redis=False)) is not None:
            return [missing]
        if not self.redis_problem:
            from jobctl.queue.pause import paused_queues

            self.paused = paused_queues(self.redis)
        from jobctl.store.doctor_queries import DoctorQueries

        counts = DoctorQueries(self.engine).pending_counts(names, cap=PENDING_COUNT_CAP)
        out = []
        for q in names:
            n = counts[q]
            waiting = f"{n:,}+" if n >= PENDING_COUNT_CAP else f"{n:,}"
            name, details = f"queue {q}", {"queue": q, "pending": n}
            if self.redis_problem and n:
                out.append(Check(name, WARN, f"{waiting} job(s) waiting; consumers not checked: "
                                 f"{self.redis_problem}", "fix the redis check first", details))  # fmt: skip
                continue
            if self.redis_problem:
                out.append(Check(name, OK, "no jobs waiting", None, details))
                continue
            consumers = self._consumers(q)
            details["workers"] = [w.owner for w in consumers]
            pause = self.paused.get(q)
            if pause is not None:
                details["paused_by"] = pause.by
                details["paused_at"] = pause.at.isoformat() if pause.at else None
                since = f" since {pause.at.isoformat(timespec='seconds')}" if pause.at else ""
                who = f" by {pause.by}" + (f"@{pause.host}" if pause.host else "") if pause.by else ""
                status, what = (WARN, f"{waiting} job(s) waiting") if n else (OK, "no jobs waiting")
                out.append(Check(name, status, f"queue {q} is PAUSED{since}{who}: {what}; workers take "
                                 "nothing from it", f"`jobctl queues resume {q}` when it should run again"
                                 if n else None, details))  # fmt: skip
                continue
            if not consumers and n:
                out.append(Check(
                    name, WARN, f"{waiting} job(s) waiting on queue {q} and no worker consumes it",
                    f"start `jobctl worker --queue {q}`", details,
                ))  # fmt: skip
            elif not consumers:
                out.append(Check(name, OK, "no jobs waiting; no worker consumes it", None, details))
            else:
                busy = sum(len(w.running) for w in consumers)
                slots = sum(w.concurrency for w in consumers)
                out.append(Check(name, OK, f"{waiting} job(s) waiting; {len(consumers)} worker(s) consume it "
                                 f"({busy}/{slots} slots busy)", None, details))  # fmt: skip
        return out

    # -- stuck jobs --------------------------------------------------------------------------

    def check_stalled(self) -> Check:
        if (missing := self._missing("stalled", db=True, redis=True)) is not None:
            return missing
        from jobctl.worker.recovery import find_lost, owner_of

        backends = self._backends
        running = len(backends.repo.running())
        lost = find_lost(backends, self.now)
        rows = [
            {"id": r.id, "queue": r.queue, "worker": owner_of(r), "attempt": r.attempts,
             "started_at": r.started_at.isoformat() if r.started_at else None, "reason": why}
            for r, why in lost
        ]  # fmt: skip
        details = {"running": running, "stalled": rows[:50]}
        if not lost:
            what = f"{running} RUNNING job(s), all on live workers" if running else "no RUNNING jobs"
            return Check("stalled", OK, what, None, details)
        dead = sorted({owner_of(r) or "(none)" for r, why in lost if "heartbeat" in why})
        hung = sum(1 for _, why in lost if "heartbeat" not in why)
        what = f"{len(lost)} of {running} RUNNING job(s) stalled"
        parts = []
        if dead:
            parts.append(f"their worker stopped heartbeating ({', '.join(dead[:SHOWN])})")
        if hung:
            parts.append(f"{hung} made no progress for their queue's lock (hung)")
        ids = ", ".join(r.id for r, _ in lost[:SHOWN])
        finding = f"{what}: {'; '.join(parts)} [{ids}{', …' if len(lost) > SHOWN else ''}]"
        if self.workers:
            return Check(
                "stalled", WARN,
                f"{finding}; the recovery sweep of a live worker ({self.workers[0].owner}) retries or fails "
                f"them within ~{self.settings.heartbeat_seconds:g}s",
                "nothing to do; if they stay RUNNING, read that worker's log", details,
            )  # fmt: skip
        return Check(
            "stalled", FAIL, f"{finding}; no live worker, so nothing recovers them",
            "start any worker (`jobctl worker --queue Q`): at start-up it retries or fails them per the "
            "retry policy", details,
        )  # fmt: skip

    def check_lost(self) -> Check:
        if (missing := self._missing("lost", db=True, redis=True)) is not None:
            return missing
        from jobctl.store.reconcile_queries import ReconcileQueries
        from jobctl.worker.doctor_probe import missing_from_rq

        queries = ReconcileQueries(self.engine)
        settled = self.now - timedelta(seconds=SETTLED_S)
        page = queries.pending_page(settled, None, LOST_SAMPLE)
        refs = queries.pending_refs([job_id for job_id, _ in page], settled)
        presence = missing_from_rq(self.redis, refs, self.now)
        # A row may have moved on while Redis was read (a worker ran it): only unchanged rows count.
        unchanged = queries.unchanged_pending(presence.missing)
        lost = [r for r in presence.missing if r.id in unchanged]
        sample = f"the oldest {len(page):,}" if len(page) >= LOST_SAMPLE else f"all {len(page):,}"
        details = {
            "checked": len(page),
            "lost": [{"id": r.id, "queue": r.queue, "type": r.type} for r in lost[:50]],
        }
        if not lost:
            what = f"{sample} PENDING row(s) older than {SETTLED_S:g}s are in RQ"
            if not page:
                what = f"no PENDING rows older than {SETTLED_S:g}s"
            return Check("lost", OK, what, None, details)
        due = sum(1 for r in lost if r.next_attempt_at is None or r.next_attempt_at <= self.now)
        by_queue: defaultdict[str, int] = defaultdict(int)
        for r in lost:
            by_queue[r.queue] += 1
        self.lost_by_queue = dict(by_queue)
        where = ", ".join(f"{q}: {n}" for q, n in sorted(by_queue.items()))
        finding = (f"{len(lost)} of {sample} PENDING row(s) missing from RQ, lost from Redis ({due} due now; "
                   f"{where})")  # fmt: skip
        if self.workers:
            return Check(
                "lost", WARN,
                f"{finding}; a live worker's reconciler re-enqueues them within "
                f"~{self.settings.reconcile_seconds:g}s",
                "nothing to do; if they stay missing, read the workers' logs (event lost-job-requeued)",
                details,
            )  # fmt: skip
        return Check(
            "lost", FAIL, f"{finding}; no live worker, so nothing re-enqueues them",
            "start any worker (`jobctl worker --queue Q`): its reconciler re-enqueues them", details,
        )  # fmt: skip

    def check_overdue(self) -> Check:
        if (missing := self._missing("overdue", db=True, redis=False)) is not None:
            return missing
        from jobctl.store.doctor_queries import DoctorQueries

        late = _span(self.overdue_after)
        found = DoctorQueries(self.engine).overdue(self.now - self.overdue_after, cap=PENDING_COUNT_CAP)
        details = {
            "after_s": self.overdue_after.total_seconds(),
            "queues": [{"queue": o.queue, "count": o.count,
                        "oldest_due": o.oldest_due.isoformat() if o.oldest_due else None} for o in found],
        }  # fmt: skip
        if not found:
            return Check("overdue", OK, f"no PENDING job has been due for more than {late}", None, details)
        parts, hints = [], []
        for o in found:
            why, hint = self._why_waiting(o.queue)
            oldest = _span(self.now - o.oldest_due) if o.oldest_due else "?"
            parts.append(f"{o.queue}: {o.count:,}{'+' if o.capped else ''} (oldest due {oldest} ago; {why})")
            if hint and hint not in hints:
                hints.append(hint)
        total = sum(o.count for o in found)
        return Check(
            "overdue", WARN, f"{total:,} PENDING job(s) due for more than {late}: {'; '.join(parts)}",
            "; ".join(hints) or "read the workers' logs", details,
        )  # fmt: skip

    def _why_waiting(self, queue: str) -> tuple[str, str | None]:
        if self.redis_problem:
            return f"not checked why: {self.redis_problem}", None
        if queue in self.paused:
            return "the queue is paused", f"`jobctl queues resume {queue}`"
        consumers = self._consumers(queue)
        if not consumers:
            return "no worker consumes it", f"start `jobctl worker --queue {queue}`"
        if self.lost_by_queue.get(queue):
            return f"{self.lost_by_queue[queue]} missing from RQ (see lost)", None
        if all(len(w.running) >= w.concurrency for w in consumers):
            slots = sum(w.concurrency for w in consumers)
            return f"all {slots} slots of its workers are busy (a backlog)", "add workers or concurrency"
        return "its workers have free slots", "read its workers' logs; `jobctl queues` shows RQ's view"

    # -- scheduler -------------------------------------------------------------------------------

    def check_scheduler(self) -> Check:
        if (missing := self._missing("scheduler", db=True, redis=True)) is not None:
            return missing
        from jobctl.scheduler.cron import CronSchedule
        from jobctl.store.schedules_repo import ScheduleRepository
        from jobctl.worker.doctor_probe import scheduler_lease

        enabled = ScheduleRepository(self.engine).list(enabled_only=True)
        lease = scheduler_lease(self.redis)
        leader = (
            f"scheduler {lease.holder} leads" if lease.holder else "no scheduler holds the leadership lease"
        )
        due: list[tuple[datetime, str]] = []
        for s in enabled:
            try:
                due.append(
                    (CronSchedule(s.cron, s.timezone).next_after(s.last_tick_at or s.active_since), s.name)
                )
            except Exception:  # a schedule jobctl cannot evaluate fires nowhere either
                continue
        due.sort()
        late = [(t, n) for t, n in due if self.now - t > SCHEDULE_GRACE]
        details = {"leader": lease.holder, "enabled": len(enabled), "late": [n for _, n in late]}
        if not enabled:
            return Check("scheduler", OK, f"no enabled schedules; {leader}", None, details)
        nxt = f"next: {due[0][1]} at {due[0][0].isoformat()}" if due else "no next tick"
        missed = (
            f"{len(late)} already late (oldest: {late[0][1]}, due {late[0][0].isoformat()})" if late else ""
        )
        if lease.holder:
            if late:
                return Check(
                    "scheduler",
                    WARN,
                    f"{leader}, yet {missed}",
                    "read the scheduler's log (its health line lists next runs)",
                    details,
                )
            return Check(
                "scheduler", OK, f"{leader}; {len(enabled)} enabled schedule(s), {nxt}", None, details
            )
        hint = "start `jobctl scheduler` (several may run: one leads, the others stand by)"
        if late:
            finding = f"{leader}: {len(enabled)} enabled schedule(s) do not fire; {missed}"
            return Check("scheduler", FAIL, finding, hint, details)
        finding = f"{leader}: {len(enabled)} enabled schedule(s) will not fire ({nxt})"
        return Check("scheduler", WARN, finding, hint, details)


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
