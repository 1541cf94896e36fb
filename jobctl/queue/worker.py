"""`jobctl worker`: an RQ SimpleWorker that runs only jobctl's entry point, JSON-serialised.

SimpleWorker runs jobs in this process (no fork per job): the database engine and Redis pool
are built once and reused by every job. RQ's scheduler runs beside it so retries and delayed
jobs become due. A monitor thread stops jobs that operators cancel while they run.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Sequence
from typing import Any

from rq import Queue, SimpleWorker
from rq.exceptions import DeserializationError
from rq.job import JobStatus as RQJobStatus
from rq.registry import CanceledJobRegistry

from jobctl.domain.errors import UnknownQueueError, UnsafeJobError
from jobctl.queue.backends import Backends
from jobctl.queue.rq_job import SERIALIZER, JobctlJob
from jobctl.queue.runner import install_runtime
from jobctl.queue.runtime import CancelMonitor, WorkerRuntime

log = logging.getLogger("jobctl.worker")


def default_worker_name() -> str:
    return f"{socket.gethostname()}.{os.getpid()}"


class JobctlWorker(SimpleWorker):
    """RQ's SimpleWorker with jobctl's job class, JSON data and cancel-aware bookkeeping."""

    runtime: WorkerRuntime

    def handle_exception(self, job: Any, *exc_info: Any) -> None:
        # jobctl's runner already logged a job's own failure as one structured line; RQ's handler
        # would print the whole traceback again. Jobs refused before reaching the runner (not
        # jobctl's entry point, not JSON, no row) are logged here. Custom handlers still run.
        exc = exc_info[1] if len(exc_info) > 1 else None
        if isinstance(exc, UnsafeJobError | DeserializationError):
            detail = str(exc) if isinstance(exc, UnsafeJobError) else "its data is not JSON (pickle?)"
            log.error(
                f"refused RQ job {job.id}: {detail}",
                extra={"job_id": job.id, "queue": job.origin, "event": "job-refused"},
            )
        for handler in self._exc_handlers:
            if not handler(job, *exc_info):
                break

    def handle_job_success(self, job: Any, queue: Any, started_job_registry: Any) -> None:
        if job.id in self.runtime.cancelled:
            self.runtime.cancelled.discard(job.id)
            self._file_as_cancelled(job)
            return
        super().handle_job_success(job, queue, started_job_registry)

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


def run_worker(
    backends: Backends,
    queues: Sequence[str],
    *,
    burst: bool = False,
    name: str | None = None,
    rq_log_level: str = "WARNING",
) -> bool:
    """Run one worker over `queues` until stopped (or, with burst, until they are empty)."""
    known = backends.settings.queues
    for q in queues:
        if q not in known:
            raise UnknownQueueError(f"unknown queue {q!r} (known: {', '.join(sorted(known))})")
    with backends.errors():
        backends.repo  # noqa: B018 - connect and check the schema before taking jobs
        connection = backends.redis
    worker_name = name or default_worker_name()
    runtime = WorkerRuntime(backends, worker_name)
    install_runtime(runtime)
    rq_queues = [Queue(q, connection=connection, job_class=JobctlJob, serializer=SERIALIZER) for q in queues]
    worker = JobctlWorker(
        rq_queues, connection=connection, name=worker_name, job_class=JobctlJob, serializer=SERIALIZER
    )
    worker.runtime = runtime
    monitor = CancelMonitor(runtime)
    monitor.start()
    log.info(
        f"worker {worker_name} listening on {', '.join(queues)}",
        extra={"worker": worker_name, "event": "worker-start"},
    )
    try:
        return bool(worker.work(burst=burst, with_scheduler=True, logging_level=rq_log_level))
    finally:
        monitor.stop()
        install_runtime(None)
        log.info(f"worker {worker_name} stopped", extra={"worker": worker_name, "event": "worker-stop"})
