"""A worker process: N job slots in threads, plus the duties that keep jobs from getting lost.

Start-up: take over the worker name only if its previous incarnation is really gone, recover
the jobs it (or any dead worker) left RUNNING at once, then heartbeat. While running: RQ's
scheduler duty (due retries and delayed jobs), the recovery sweep and the reconciler (each
under a Redis lease, so one process across the fleet does it at a time), per-queue stats.
Shutdown: the first SIGTERM/SIGINT stops taking jobs and lets running ones finish within the
grace period (exit 0); a second signal or an expired grace hands running jobs back to PENDING
without spending a retry (exit 13).
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from redis import ConnectionPool, Redis
from rq import Queue

from jobctl.domain.errors import (
    ExitCode,
    UnknownQueueError,
    WorkerFencedInterrupt,
    WorkerNameInUseError,
    WorkerShutdownInterrupt,
)
from jobctl.domain.timeparse import utcnow
from jobctl.queue.backends import Backends
from jobctl.queue.lease import RedisLease
from jobctl.queue.pause import PauseGate
from jobctl.queue.rq_job import SERIALIZER, JobctlJob
from jobctl.worker.claimer import Claimer
from jobctl.worker.completer import Completer
from jobctl.worker.lean_worker import LeanQueue, SuspensionView
from jobctl.worker.liveness import Heartbeat, heartbeat_key, owner_info
from jobctl.worker.popper import Popper
from jobctl.worker.recovery import rescue_intermediate, rescue_started, sweep
from jobctl.worker.runner import hand_back, install_runtime
from jobctl.worker.runtime import Monitor, WorkerRuntime
from jobctl.worker.slot import JobctlWorker

log = logging.getLogger("jobctl.worker")


def default_worker_name() -> str:
    return f"{socket.gethostname()}.{os.getpid()}"


@dataclass
class PoolOptions:
    queues: Sequence[str]
    concurrency: int
    name: str | None = None
    burst: bool = False
    grace_s: float | None = None  # default: the longest lock of its queues
    rq_log_level: str = "WARNING"
    stats_every_s: float = 60.0
    health: Callable[[WorkerPool], Any] | None = None  # starts a health server; returns it (has stop())


@dataclass
class WorkerPool:
    backends: Backends
    options: PoolOptions
    owner: str = ""
    runtime: WorkerRuntime | None = None
    slots: list[JobctlWorker] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)
    last_tick: float = field(default_factory=time.monotonic)
    _signals: int = 0
    _deadline: float | None = None
    _forced: bool = False
    _popped: dict[str, set[str]] = field(default_factory=dict)
    _registered: dict[str, set[str]] = field(default_factory=dict)
    _reconciling: threading.Thread | None = None

    def run(self) -> int:
        opts = self.options
        known = self.backends.settings.queues
        for q in opts.queues:
            if q not in known:
                raise UnknownQueueError(f"unknown queue {q!r} (known: {', '.join(sorted(known))})")
        with self.backends.errors():
            self.backends.repo  # noqa: B018 - connect and check the schema before anything else
            redis = self.backends.redis
            self.owner = opts.name or default_worker_name()
            _take_over_name(redis, self.owner)
            self._recover_at_start()
            _clear_stale_rq_workers(redis, [self._slot_name(i) for i in range(opts.concurrency)], opts.queues)
        runtime = self.runtime = WorkerRuntime(self.backends, self.owner)
        runtime.claimer = Claimer(self.backends.repo, self.owner)
        completer = runtime.completer = Completer(runtime)
        completer.start()
        install_runtime(runtime)
        heartbeat = Heartbeat(
            redis, self.owner, interval_s=self.backends.settings.heartbeat_seconds,
            ttl_s=self.backends.settings.stall_seconds, info=self._info,
            on_lost=lambda _why: _fence(runtime),
        )  # fmt: skip
        heartbeat.start()
        monitor = Monitor(runtime)
        monitor.start()
        health = opts.health(self) if opts.health else None
        self._start_slots()
        previous = self._install_signals()
        log.info(
            f"worker {self.owner} started: {opts.concurrency} slot(s) on {', '.join(opts.queues)}",
            extra={"worker": self.owner, "event": "worker-start"},
        )
        try:
            self._supervise()
        finally:
            self._restore_signals(previous)
            if self._forced:
                self._hand_back_leftovers()
            completer.stop()  # the last successes are recorded while this worker still beats
            runtime.close()
            monitor.stop()
            heartbeat.stop()
            self._close_slot_connections()
            if health is not None:
                health.stop()
            install_runtime(None)
            log.info(f"worker {self.owner} stopped", extra={"worker": self.owner, "event": "worker-stop"})
        return int(ExitCode.FORCED_SHUTDOWN if self._forced else ExitCode.OK)

    # -- start-up ----------------------------------------------------------------------------

    def _slot_name(self, i: int) -> str:
        return f"{self.owner}.{i}" if self.options.concurrency > 1 else self.owner

    def _recover_at_start(self) -> None:
        now = utcnow()
        mine = sweep(self.backends, now, only_owner=self.owner)
        others = sweep(self.backends, now)
        recovered = mine.recovered + others.recovered
        if recovered:
            log.warning(
                f"recovered {len(recovered)} job(s) left RUNNING by a previous or dead worker",
                extra={"worker": self.owner, "event": "startup-recovery"},
            )

    def _start_slots(self) -> None:
        # What start-up built (every processor module, the settings, the engines) lives as
        # long as the process: out of the collector's way, so a full collection no longer
        # walks it while every slot waits on the GIL (60-slot worker: the two full collections
        # of a 3,000-job run took 100 ms each, 5 ms once frozen).
        gc.collect()
        gc.freeze()
        opts = self.options
        gate = PauseGate(self.backends.redis)  # one view of `jobctl queues pause` for all slots
        suspension = SuspensionView()  # and one of `rq suspend`
        assert self.runtime is not None
        popper = Popper(self.backends.redis, self.runtime.claimer)  # and one batch of pops and claims
        for i in range(opts.concurrency):
            # Each slot on a connection pool of its own (the same server and options): one
            # shared by 60 slots serialised every command's checkout and release on the pool's
            # lock, which py-spy showed as the worker's hottest wait. Same connection count.
            connection = _own_pool(self.backends.redis) if opts.concurrency > 1 else self.backends.redis
            rq_queues = [
                LeanQueue(q, connection=connection, job_class=JobctlJob, serializer=SERIALIZER)
                for q in opts.queues
            ]
            slot = JobctlWorker(
                rq_queues, connection=connection, name=self._slot_name(i),
                job_class=JobctlJob, serializer=SERIALIZER,
            )  # fmt: skip
            slot.runtime = self.runtime
            slot.pause_gate = gate
            slot.suspension = suspension
            slot.popper = popper
            slot.run_maintenance = i == 0
            self.slots.append(slot)
            t = threading.Thread(
                target=slot.work, name=f"jobctl-slot-{i}", daemon=True,
                kwargs={"burst": opts.burst, "logging_level": opts.rq_log_level},
            )  # fmt: skip
            self.threads.append(t)
        if opts.burst:  # like RQ's burst: move what is due now, once, before working
            self._scheduler_tick(_BurstScheduler(self))
        for t in self.threads:
            t.start()

    def _close_slot_connections(self) -> None:
        if any(t.is_alive() for t in self.threads):
            return  # a slot stuck in a call after a forced stop may still use its connection
        for slot in self.slots:
            if slot.connection is not self.backends.redis:
                slot.connection.close()

    def _info(self) -> dict[str, Any]:
        rt = self.runtime
        return {
            "host": socket.gethostname(), "pid": os.getpid(), "queues": list(self.options.queues),
            "concurrency": self.options.concurrency, "pool": "thread",
            "running": [e.job_id for e in rt.running()] if rt else [],
            "metrics": rt.metrics.snapshot() if rt else {},
        }  # fmt: skip

    # -- the supervising loop (main thread) ---------------------------------------------------

    def _supervise(self) -> None:
        settings = self.backends.settings
        sched = None if self.options.burst else _Scheduler(self)
        recovery = RedisLease(
            self.backends.redis, "recovery", self.owner, ttl_s=settings.heartbeat_seconds * 3
        )
        last_sweep = last_stats = last_reconcile = time.monotonic()
        while any(t.is_alive() for t in self.threads):
            time.sleep(0.2)
            self.last_tick = now = time.monotonic()
            if self._deadline is not None and now > self._deadline and not self._forced:
                log.error("grace period over: stopping running jobs", extra={"event": "grace-expired"})
                self._force()
            try:
                if sched is not None:
                    self._scheduler_tick(sched)
                if now - last_sweep >= settings.heartbeat_seconds:
                    last_sweep = now
                    if recovery.acquire() is not None:
                        sweep(self.backends, utcnow())
                        queues = list(self.options.queues)
                        self._popped = rescue_intermediate(self.backends, queues, self._popped)
                        self._registered = rescue_started(self.backends, queues, self._registered)
                        if now - last_reconcile >= settings.reconcile_seconds:
                            last_reconcile = now
                            self._reconcile()
                if now - last_stats >= self.options.stats_every_s:
                    last_stats = now
                    self._log_stats()
            except Exception as exc:  # a Redis/DB blip must not stop the supervisor
                log.warning(f"supervisor tick failed: {exc}", extra={"event": "supervisor-error"})
        if sched is not None:
            sched.release()

    def _scheduler_tick(self, sched: _Scheduler) -> None:
        sched.tick()

    def _reconcile(self) -> None:
        """Compare SQL and Redis in a thread of its own: a pass over 100k PENDING rows takes a
        second or two, which must not delay the supervisor's scheduling and recovery ticks."""
        if self._reconciling is not None and self._reconciling.is_alive():
            return
        from jobctl.worker.reconciler import run_reconciler_once

        def run() -> None:
            try:
                run_reconciler_once(
                    self.backends, self.owner, utcnow(), interval_s=self.backends.settings.reconcile_seconds
                )
            except Exception as exc:
                log.warning(f"reconciler pass failed: {exc}", extra={"event": "reconcile-error"})

        self._reconciling = threading.Thread(target=run, name="jobctl-reconciler", daemon=True)
        self._reconciling.start()

    def _log_stats(self) -> None:
        rt = self.runtime
        if rt is None:
            return
        running = rt.running()
        for q in self.options.queues:
            totals = rt.metrics.totals(q)
            depth = self.backends.redis.llen(f"rq:queue:{q}")
            log.info(
                f"stats {q}: completed {totals['jobs_completed']:g}, failed {totals['jobs_failed']:g}, "
                f"active {sum(1 for e in running if e.queue == q)}, queued {depth}",
                extra={"queue": q, "event": "stats", "worker": self.owner},
            )

    # -- shutdown --------------------------------------------------------------------------------

    def _install_signals(self) -> dict[int, Any]:
        previous: dict[int, Any] = {}
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, self._on_signal)
        return previous

    @staticmethod
    def _restore_signals(previous: dict[int, Any]) -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._signals += 1
        if self._signals == 1:
            self.request_stop()
        else:
            log.warning("second signal: stopping running jobs now", extra={"event": "forced-stop"})
            self._force()

    def request_stop(self) -> None:
        """Warm stop: no new jobs; running ones may finish within the grace period."""
        grace = self.options.grace_s
        if grace is None:
            grace = max(self.backends.settings.queues[q].lock_seconds for q in self.options.queues)
        self._deadline = time.monotonic() + grace
        log.info(f"stopping: letting running jobs finish (grace {grace:g}s)", extra={"event": "warm-stop"})
        for slot in self.slots:
            slot.request_soft_stop()

    def _force(self) -> None:
        self._forced = True
        for slot in self.slots:
            slot.request_soft_stop()
        if self.runtime is not None:
            self.runtime.stop_all(WorkerShutdownInterrupt)
        deadline = time.monotonic() + 5
        for t in self.threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))

    def _hand_back_leftovers(self) -> None:
        """Executions stuck in a call that ignores interrupts: hand their jobs back ourselves
        (fenced, so a thread that unwinds later changes nothing)."""
        rt = self.runtime
        if rt is None:
            return
        for e in rt.running():
            row = self.backends.repo.get(e.job_id)
            if row is not None:
                hand_back(rt, row, e.attempt, "forced shutdown (the job ignored the interrupt)")


class _Scheduler:
    """RQ's scheduler duty, done by the supervisor: move due jobs (retries, delayed) from each
    queue's scheduled registry into the queue. One process per queue does it at a time, under a
    short Redis lease — RQ's own scheduler lock outlives a killed holder by a minute,
    which would stall every retry that long."""

    interval_s = 0.5

    def __init__(self, pool: WorkerPool) -> None:
        self.connection = pool.backends.redis
        ttl = max(2.0, pool.backends.settings.heartbeat_seconds * 3)
        # One lease per queue: whoever listens on a queue may schedule it, one at a time.
        self.queues = [
            (
                Queue(q, connection=self.connection, job_class=JobctlJob, serializer=SERIALIZER),
                RedisLease(self.connection, f"rq-scheduler:{q}", pool.owner, ttl_s=ttl),
            )
            for q in pool.options.queues
        ]
        self.last = 0.0

    def tick(self) -> None:
        if time.monotonic() - self.last < self.interval_s:
            return
        self.last = time.monotonic()
        for queue, lease in self.queues:
            if lease.acquire() is None:
                continue
            registry = queue.scheduled_job_registry
            # RQ scores scheduled jobs by whole seconds, rounded down: "due" at now - 1 s
            # means never early (a retry set for 12.7 s waits until 13 s), at most ~1 s late.
            due = registry.get_jobs_to_schedule(int(time.time()) - 1)
            if not due:
                continue
            jobs = JobctlJob.fetch_many(due, connection=self.connection, serializer=SERIALIZER)
            with self.connection.pipeline() as pipe:
                for job in jobs:
                    if job is not None:
                        queue._enqueue_job(job, pipeline=pipe)
                for job_id in due:
                    registry.remove(job_id, pipeline=pipe)
                pipe.execute()

    def release(self) -> None:
        for _, lease in self.queues:
            lease.release()


class _BurstScheduler(_Scheduler):
    def tick(self) -> None:
        super().tick()
        self.release()


def _fence(runtime: WorkerRuntime) -> None:
    runtime.stop_all(WorkerFencedInterrupt)


def _take_over_name(connection: Any, owner: str) -> None:
    """Refuse a name a live worker holds; take it from a previous incarnation that is gone."""
    info = owner_info(connection, owner)
    if info is None:
        return
    host, pid = info.get("host"), info.get("pid")
    if host == socket.gethostname() and isinstance(pid, int) and not _is_live_jobctl(pid):
        connection.delete(heartbeat_key(owner))
        log.warning(
            f"worker name {owner} was held by pid {pid}, which is gone: taking over",
            extra={"worker": owner, "event": "name-takeover"},
        )
        return
    raise WorkerNameInUseError(
        f"worker name {owner!r} is held by a live worker (pid {pid} on {host}); stop it or use another --name"
    )


def _is_live_jobctl(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"jobctl" in fh.read()
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True


def _own_pool(connection: Redis) -> Redis:
    """A client like `connection` (same server, options and connection class) on its own pool."""
    base = connection.connection_pool
    kwargs = {k: v for k, v in base.connection_kwargs.items() if k != "himport_registry"}
    return Redis(connection_pool=ConnectionPool(connection_class=base.connection_class, **kwargs))


def _clear_stale_rq_workers(connection: Any, names: Sequence[str], queues: Sequence[str]) -> None:
    """RQ refuses to register a worker whose key outlived a killed process: drop those keys."""
    with connection.pipeline() as pipe:
        for name in names:
            key = f"rq:worker:{name}"
            pipe.delete(key)
            pipe.srem("rq:workers", key)
            for q in queues:
                pipe.srem(f"rq:workers:{q}", key)
        pipe.execute()
