"""What one worker process shares across its executions, and the executions it has in flight.

Besides bookkeeping, the runtime does the process's periodic duties from its monitor thread:
stop jobs that operators cancelled, renew the leases of jobs that make progress, and stop the
ones that made none for their queue's lock duration.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any

from jobctl.domain.errors import JobCancelledError, JobStalledError
from jobctl.domain.records import JobRecord
from jobctl.domain.retry import RetryPolicy
from jobctl.domain.timeparse import utcnow
from jobctl.processors.base import JobContext
from jobctl.processors.registry import Registry, default_registry
from jobctl.queue.backends import Backends
from jobctl.queue.events import EventBuffer, event_of
from jobctl.queue.progress import ProgressWriter
from jobctl.queue.rate_gate import RedisRateGate
from jobctl.queue.rq_job import cancel_key
from jobctl.worker.interrupt import Interruptible
from jobctl.worker.metrics import Metrics

if TYPE_CHECKING:
    from jobctl.worker.claimer import Claimer
    from jobctl.worker.completer import Completer

log = logging.getLogger("jobctl.worker")

JOB_LEASE_PREFIX = "jobctl:joblease:"


def job_lease_key(job_id: str) -> str:
    """Value "{owner}|{attempt}", TTL = the queue's lock: alive while the execution progresses."""
    return f"{JOB_LEASE_PREFIX}{job_id}"


@dataclass
class Execution:
    job_id: str
    job_type: str
    queue: str
    attempt: int
    ctx: JobContext
    lock_s: float
    interruptible: Interruptible = field(default_factory=Interruptible)
    started_monotonic: float = field(default_factory=time.monotonic)
    thread_id: int = field(default_factory=threading.get_ident)
    stop_reason: type[BaseException] | None = None
    last_progress: float = field(default_factory=time.monotonic)
    _last_touch: float = 0.0
    _last_frame: tuple[int, int] | None = None

    def progressed(self, frames: dict[int, FrameType]) -> bool:
        """Progress since the last look: the job touched its context, or its thread moved.

        A thread blocked in one call shows the same innermost frame and instruction each time;
        a thread doing work does not. Deliberate waits go through ctx.sleep, which touches.
        """
        moved = False
        frame = frames.get(self.thread_id)
        if frame is not None:
            sig = (id(frame.f_code), frame.f_lasti)
            moved = self._last_frame is not None and sig != self._last_frame
            self._last_frame = sig
        touched = self.ctx.last_touch > self._last_touch
        self._last_touch = self.ctx.last_touch
        if moved or touched:
            self.last_progress = time.monotonic()
        return moved or touched


class WorkerRuntime:
    """Shared per process: backends, processor registry, retry policy, executions, metrics."""

    def __init__(self, backends: Backends, owner: str, registry: Registry | None = None) -> None:
        self.backends = backends
        self.settings = backends.settings
        self.owner = owner  # written to rows as `worker`; its heartbeat says whether it lives
        self.registry = registry or default_registry()
        self.policy = RetryPolicy(self.settings.retry_intervals)
        self.metrics = Metrics(running=self.running)
        self._lock = threading.Lock()
        self._running: dict[str, Execution] = {}
        # Set by the worker pool: records successful executions in batches (None: at once).
        self.completer: Completer | None = None
        # Set by the worker pool: the slots' claims, batched (None: each claims on its own).
        self.claimer: Claimer | None = None
        self._progress: ProgressWriter | None = None
        self._rate_gate: RedisRateGate | None = None
        self._events: EventBuffer | None = None

    @property
    def events(self) -> EventBuffer:
        """The process's job-event buffer (jobctl.queue.events), built on first use."""
        if self._events is None:
            with self._lock:
                if self._events is None:
                    self._events = EventBuffer(self.backends.redis)
        return self._events

    def emit(
        self, row: JobRecord, kind: str, from_status: str | None, to_status: str, attempt: int, **more: Any
    ) -> None:
        """Record one transition for `jobctl events` (buffered; never raises: a job must not
        fail because its event could not be written)."""
        try:
            event = event_of(row, kind, from_status, to_status, attempt, utcnow(), worker=self.owner, **more)
            self.events.emit(event)
        except Exception as exc:
            log.debug(f"job event not recorded: {exc}", extra={"job_id": row.id, "event": "events-error"})

    def close(self) -> None:
        """Send the last events and stop the rate gate's subscriber (the worker is stopping)."""
        if self._events is not None:
            self._events.close()
        if self._rate_gate is not None:
            self._rate_gate.stop()

    @property
    def progress(self) -> ProgressWriter:
        """The process's progress/log writer, built on first use (jobs that never report
        progress cost nothing)."""
        if self._progress is None:
            s = self.settings
            self._progress = ProgressWriter(
                self.backends.redis, max_lines=s.log_max_lines, max_bytes=s.log_max_bytes,
                ttl_s=s.log_ttl_seconds,
            )  # fmt: skip
        return self._progress

    @property
    def rate_gate(self) -> RedisRateGate:
        """The platform clients' rate-limit gate, shared through Redis with every worker
        (handed to each job as ctx.rate_gate; built on first use). Mirrored: a worker checks
        before every platform request, so open gates are known without a round trip."""
        if self._rate_gate is None:
            with self._lock:
                if self._rate_gate is None:
                    self._rate_gate = RedisRateGate(self.backends.redis, mirror=True)
        return self._rate_gate

    def flush_progress(self, job_id: str) -> None:
        """Send a finishing job's last progress and lines before its row turns final, so a
        reader that stops at the final status has seen them all."""
        if self._progress is None:
            return
        try:
            self._progress.flush(job_id)
        except Exception as exc:  # never fail a job over its log lines
            log.warning(f"progress flush failed: {exc}", extra={"job_id": job_id, "event": "progress-error"})

    def lock_seconds(self, queue: str) -> float:
        spec = self.settings.queues.get(queue)
        return float(spec.lock_seconds) if spec else 300.0

    def begin(self, execution: Execution) -> None:
        with self._lock:
            self._running[execution.job_id] = execution

    def end(self, job_id: str) -> None:
        self.flush_progress(job_id)
        with self._lock:
            self._running.pop(job_id, None)

    def running(self) -> list[Execution]:
        with self._lock:
            return list(self._running.values())

    def stop(self, execution: Execution, reason: type[BaseException]) -> None:
        """Ask one execution to stop now: wake cooperative waits, interrupt the processor."""
        if execution.stop_reason is None:
            execution.stop_reason = reason
        execution.ctx.cancel_event.set()
        execution.interruptible.interrupt(reason)

    def stop_all(self, reason: type[BaseException]) -> int:
        executions = self.running()
        for e in executions:
            self.stop(e, reason)
        return len(executions)

    def poll_cancellations(self) -> int:
        """One MGET for every running job's cancel key; stop those an operator cancelled."""
        executions = self.running()
        if not executions:
            return 0
        flags = self.backends.redis.mget([cancel_key(e.job_id) for e in executions])
        stopped = 0
        for execution, flag in zip(executions, flags, strict=True):
            if flag is not None and execution.stop_reason is None:
                self.stop(execution, JobCancelledError)
                log.info("stopping cancelled job", extra={"job_id": execution.job_id, "event": "cancel-stop"})
                stopped += 1
        return stopped

    def tend_leases(self) -> int:
        """Renew the lease of every execution that progressed; stop those stalled past their
        lock (the recovery sweep records their outcome if they do not unwind). One pipeline."""
        executions = self.running()
        if not executions:
            return 0
        frames = sys._current_frames()
        now = time.monotonic()
        renew = []
        for e in executions:
            if e.progressed(frames):  # the first look always counts (ctx.last_touch is fresh)
                renew.append(e)
            elif now - e.last_progress >= e.lock_s and e.stop_reason is None:
                log.error(
                    f"job made no progress for {e.lock_s:g}s: stopping it",
                    extra={"job_id": e.job_id, "job_type": e.job_type, "queue": e.queue, "event": "stalled"},
                )
                self.stop(e, JobStalledError)
        if renew:
            with self.backends.redis.pipeline(transaction=False) as pipe:
                for e in renew:
                    pipe.set(job_lease_key(e.job_id), f"{self.owner}|{e.attempt}", px=int(e.lock_s * 1000))
                pipe.execute()
            self.metrics.add_lease_renewals(len(renew))
        return len(renew)


class Monitor(threading.Thread):
    """Background duties of one worker process: cancel polling (every 0.5 s) and lease tending
    (every heartbeat)."""

    def __init__(self, runtime: WorkerRuntime, *, cancel_every_s: float = 0.5) -> None:
        super().__init__(name="jobctl-monitor", daemon=True)
        self.runtime = runtime
        self.cancel_every_s = cancel_every_s
        self.lease_every_s = max(cancel_every_s, runtime.settings.heartbeat_seconds)
        self.stopping = threading.Event()

    def run(self) -> None:
        last_lease = 0.0
        while not self.stopping.wait(self.cancel_every_s):
            try:
                self.runtime.poll_cancellations()
                if time.monotonic() - last_lease >= self.lease_every_s:
                    last_lease = time.monotonic()
                    self.runtime.tend_leases()
            except Exception as exc:  # Redis blips must not kill the monitor
                log.warning(f"monitor tick failed: {exc}", extra={"event": "monitor-error"})

    def stop(self) -> None:
        self.stopping.set()
