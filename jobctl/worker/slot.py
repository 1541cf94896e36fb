"""One job slot: an RQ SimpleWorker that runs only jobctl's entry point, JSON-serialised, and
writes RQ's per-job state in fewer round trips (jobctl.worker.lean_worker).

A worker process runs N of these, each in its own thread with its own RQ worker identity
(`rq info` lists them all), sharing the process's Redis pool, database engine and runtime.
SimpleWorker runs jobs in-process (no fork per job), so nothing is rebuilt per job.
"""

from __future__ import annotations

import logging
from typing import Any

import redis.exceptions
from rq.exceptions import DeserializationError
from rq.job import JobStatus as RQJobStatus
from rq.registry import CanceledJobRegistry
from rq.timeouts import TimerDeathPenalty
from rq.worker import WorkerStatus

from jobctl.domain.errors import UnsafeJobError
from jobctl.worker.completer import Finished
from jobctl.worker.lean_worker import LeanSimpleWorker
from jobctl.worker.runner import CANCELLED, HANDS_OFF, complete_now
from jobctl.worker.runtime import WorkerRuntime

log = logging.getLogger("jobctl.worker")

# How long an idle slot blocks on Redis before it looks at its stop flag again.
POLL_TIMEOUT_S = 1


class JobctlWorker(LeanSimpleWorker):
    """RQ's SimpleWorker with jobctl's job class, JSON data and ownership-aware bookkeeping."""

    runtime: WorkerRuntime
    run_maintenance = False  # only one slot per process cleans RQ's registries
    # SIGALRM-based timeouts work only in the main thread; slots are threads.
    death_penalty_class = TimerDeathPenalty

    def request_soft_stop(self) -> None:
        """Finish the current job, take no new one (checked at least every POLL_TIMEOUT_S)."""
        self._stop_requested = True

    @property
    def dequeue_timeout(self) -> int:
        return POLL_TIMEOUT_S

    @property
    def should_run_maintenance_tasks(self) -> bool:
        return self.run_maintenance and bool(super().should_run_maintenance_tasks)

    def _set_ip_address(self, connection: Any) -> None:
        """RQ's ip_address (the address Redis sees this slot's connection at), from CLIENT
        SETNAME + CLIENT INFO on one connection. RQ reads CLIENT LIST, every client of the
        server parsed in Python, once per slot: quadratic in a pool of 60 slots that each
        have a connection of their own (a sixth of the worker's start-up CPU, py-spy)."""
        try:
            with connection.pipeline(transaction=False) as pipe:
                pipe.client_setname(self.name)
                pipe.client_info()
                _, info = pipe.execute()
            self.ip_address = str(info["addr"])
        except (redis.exceptions.ResponseError, KeyError, TypeError):
            super()._set_ip_address(connection)  # a server without CLIENT INFO (< 6.2)

    def _install_signal_handlers(self) -> None:
        """Signals are the pool's (main thread) business: it stops the slots."""

    def subscribe(self) -> None:
        """No RQ pub/sub thread per slot: jobctl stops and cancels jobs through its own keys."""

    def unsubscribe(self) -> None:
        pass

    def dequeue_job_and_maintain_ttl(self, timeout: int | None, max_idle_time: int | None = None) -> Any:
        # RQ's loop only returns on a job; return on every poll timeout so stop requests are seen.
        while not self._stop_requested:
            result = super().dequeue_job_and_maintain_ttl(timeout, max_idle_time=timeout)
            if result is not None or timeout is None:
                return result
        return None

    def handle_exception(self, job: Any, *exc_info: Any) -> None:
        # The runner already logged a job's own failure as one structured line; RQ's handler
        # would print the traceback again. Jobs refused before reaching the runner (not
        # jobctl's entry point, not JSON, no row) are logged here. Custom handlers still run.
        exc = exc_info[1] if len(exc_info) > 1 else None
        if isinstance(exc, UnsafeJobError | DeserializationError):
            detail = str(exc) if isinstance(exc, UnsafeJobError) else "its data is not JSON (pickle?)"
            log.error(
                f"refused RQ job {job.id}: {detail}",
                extra={"job_id": job.id, "queue": job.origin, "event": "job-refused"},
            )
        elif exc is not None and not getattr(exc, "_jobctl_logged", False):
            log.error(
                f"job {job.id} failed outside jobctl's runner: {type(exc).__name__}: {exc}",
                extra={"job_id": job.id, "queue": job.origin, "event": "rq-failure"},
                exc_info=exc,
            )
        for handler in self._exc_handlers:
            if not handler(job, *exc_info):
                break

    def handle_job_success(self, job: Any, queue: Any, started_job_registry: Any) -> None:
        marker = getattr(job, "_result", None)
        if isinstance(marker, Finished):
            if self._hand_to_completer(job, marker):
                return
            marker = job._result = complete_now(self.runtime, marker)
        if marker is HANDS_OFF:
            # Another execution or the recovery owns the job now: clean up only our own
            # execution entry and current-job field, never the job's status or registries.
            with self.connection.pipeline() as pipe:
                self.cleanup_execution(job, pipeline=pipe)
                pipe.execute()
            return
        if marker is CANCELLED:
            self._file_as_cancelled(job)
            return
        super().handle_job_success(job, queue, started_job_registry)

    def _hand_to_completer(self, job: Any, finished: Finished) -> bool:
        """Let the completer record this success (SQL and RQ) while the slot takes its next
        job; False when it cannot (no completer, or a job RQ's own success path must handle)."""
        completer = self.runtime.completer
        ttl = job.get_result_ttl(self.default_result_ttl)
        if completer is None or job.repeats_left or ttl <= 0 or self.execution is None:
            return False
        finished.worker, finished.job, finished.execution, finished.result_ttl = (
            self,
            job,
            self.execution,
            ttl,
        )
        job._result = None  # RQ's result for a jobctl job (the row holds the real one)
        completer.submit(finished)
        self.execution = None
        self._state = WorkerStatus.IDLE  # in this process; Redis gets it when the job is recorded
        return True

    def teardown(self) -> None:
        completer = self.runtime.completer if getattr(self, "runtime", None) is not None else None
        if completer is not None:
            completer.flush()  # this slot's last jobs are recorded before RQ sees it die
        super().teardown()  # type: ignore[no-untyped-call]

    def _file_as_cancelled(self, job: Any) -> None:
        """The row was cancelled: RQ shows the job as canceled, not finished."""
        registry = CanceledJobRegistry(
            job.origin, connection=self.connection, job_class=self.job_class, serializer=self.serializer
        )
        with self.connection.pipeline() as pipe:
            job.set_status(RQJobStatus.CANCELED, pipeline=pipe)
            self.cleanup_execution(job, pipeline=pipe)
            registry.add(job, pipeline=pipe)
            pipe.execute()
