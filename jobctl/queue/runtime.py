"""What one worker process shares across executions, and the executions it has in flight."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from jobctl.domain.retry import RetryPolicy
from jobctl.processors.base import JobContext
from jobctl.processors.registry import Registry, default_registry
from jobctl.queue.backends import Backends
from jobctl.queue.interrupt import Interruptible
from jobctl.queue.rq_job import cancel_key

log = logging.getLogger("jobctl.worker")


@dataclass
class Execution:
    job_id: str
    attempt: int
    ctx: JobContext
    interruptible: Interruptible = field(default_factory=Interruptible)
    started_monotonic: float = field(default_factory=time.monotonic)


class WorkerRuntime:
    """Shared per process: backends, processor registry, retry policy, in-flight executions."""

    def __init__(self, backends: Backends, worker_name: str, registry: Registry | None = None) -> None:
        self.backends = backends
        self.settings = backends.settings
        self.worker_name = worker_name
        self.registry = registry or default_registry()
        self.policy = RetryPolicy(self.settings.retry_intervals)
        self._lock = threading.Lock()
        self._running: dict[str, Execution] = {}
        # RQ jobs whose execution ended because the row was cancelled: the worker files them
        # under RQ's CanceledJobRegistry instead of FinishedJobRegistry.
        self.cancelled: set[str] = set()

    def begin(self, execution: Execution) -> None:
        with self._lock:
            self._running[execution.job_id] = execution

    def end(self, job_id: str) -> None:
        with self._lock:
            self._running.pop(job_id, None)

    def running(self) -> list[Execution]:
        with self._lock:
            return list(self._running.values())

    def poll_cancellations(self) -> int:
        """One MGET for every running job's cancel key; stop those an operator cancelled."""
        executions = self.running()
        if not executions:
            return 0
        flags = self.backends.redis.mget([cancel_key(e.job_id) for e in executions])
        stopped = 0
        for execution, flag in zip(executions, flags, strict=True):
            if flag is not None and not execution.ctx.cancel_event.is_set():
                execution.ctx.cancel_event.set()
                execution.interruptible.interrupt()
                log.info(
                    "stopping cancelled job",
                    extra={"job_id": execution.job_id, "event": "cancel-stop", "attempt": execution.attempt},
                )
                stopped += 1
        return stopped


class CancelMonitor(threading.Thread):
    """Background thread: polls cancel requests for the jobs this process is running."""

    def __init__(self, runtime: WorkerRuntime, interval_s: float = 0.5) -> None:
        super().__init__(name="jobctl-cancel-monitor", daemon=True)
        self.runtime = runtime
        self.interval_s = interval_s
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.interval_s):
            try:
                self.runtime.poll_cancellations()
            except Exception as exc:  # Redis blips must not kill the monitor
                log.warning("cancel poll failed: %s", exc, extra={"event": "cancel-poll-error"})

    def stop(self) -> None:
        self.stopping.set()
