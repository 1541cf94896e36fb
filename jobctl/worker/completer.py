"""Records the worker's successful executions in batches, off the slots' path.

A slot whose job succeeded hands it here and takes its next job at once; this thread writes
what finished since its last pass with one fenced UPDATE (PostgreSQL: one statement and one
commit for the batch) and one Redis pipeline of RQ's success scripts. Measured with py-spy
on worker-concurrent-io: the COMPLETE commit and RQ's success step were a quarter of a
slot's time outside its job, each a round trip that 60 slots queued for behind the GIL.

What it keeps as it was: the row's finished_at is when the job finished (taken by the slot),
the update is fenced on the attempt (an execution given up on meanwhile is a late finish,
rejected and filed as the row says: cancelled, or left to whoever owns the job now), and
RQ's keys end as RQ's success leaves them (jobctl.worker.lean_scripts). The slot's own RQ
worker hash is only set idle if it still shows the job. A worker killed with completions
queued leaves those rows RUNNING: the recovery sweep re-runs them, as for a kill a moment
before the job ended. The pool drains the queue before it stops, and a slot before it ends.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import redis.exceptions
from rq.executions import Execution
from rq.job import Job
from rq.job import JobStatus as RQJobStatus
from rq.registry import CanceledJobRegistry

from jobctl.domain.records import JobRecord
from jobctl.worker.lean_scripts import load_scripts, release_slot, succeed

if TYPE_CHECKING:
    from jobctl.worker.runtime import WorkerRuntime

log = logging.getLogger("jobctl.worker")

# A batch whose UPDATE fails (database blip) is tried again this many times, a pause apart.
TRIES = 5
PAUSE_S = 0.5


@dataclass(repr=False)
class Finished:
    """A successful execution, as the runner left it, waiting for its SQL and RQ records."""

    row: JobRecord
    attempt: int
    result: Any
    finished_at: datetime
    took_s: float
    # The RQ side, filled in by the slot that ran it.
    worker: Any = None
    job: Job | None = None
    execution: Execution | None = None
    result_ttl: int = 0

    def __repr__(self) -> str:
        # Short on purpose: RQ's perform_job formats str(return_value) for a debug line on
        # every job even when DEBUG is off, and the dataclass repr converted every deferred
        # field of the row and printed the slot, the RQ job and the execution as well.
        return f"<Finished job {self.row.id} attempt {self.attempt}>"


class Completer(threading.Thread):
    def __init__(self, runtime: WorkerRuntime) -> None:
        super().__init__(name="jobctl-completer", daemon=True)
        self.runtime = runtime
        self._queue: deque[Finished] = deque()
        self._cond = threading.Condition()
        self._busy = 0  # items taken but not written yet
        self._stopping = False

    def submit(self, item: Finished) -> None:
        with self._cond:
            self._queue.append(item)
            self._cond.notify_all()

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Wait until everything submitted so far is written (a slot about to end)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0 or not self.is_alive():
                    return False
                self._cond.wait(left)
        return True

    def stop(self) -> None:
        """Write what is queued, then end the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self.is_alive():
            self.join(timeout=60)
        if self._queue:  # the thread died or never ran: write them here
            self._write(list(self._queue))
            self._queue.clear()

    def run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if not self._queue:
                    return
                batch = list(self._queue)
                self._queue.clear()
                self._busy = len(batch)
            try:
                self._write(batch)
            except Exception as exc:  # never let the thread die: the slots depend on it
                log.error(
                    f"recording {len(batch)} finished job(s) failed: {exc}", extra={"event": "complete-error"}
                )
            finally:
                with self._cond:
                    self._busy = 0
                    self._cond.notify_all()

    def _write(self, batch: list[Finished]) -> None:
        from jobctl.worker.runner import recorded_completion

        runtime = self.runtime
        repo = runtime.backends.repo
        items = [(f.row.id, f.attempt, f.result, f.finished_at) for f in batch]
        for attempt in range(TRIES):
            try:
                done = repo.complete_many(items)
                break
            except Exception as exc:
                if attempt == TRIES - 1:
                    log.error(
                        f"could not record {len(batch)} finished job(s), left RUNNING for recovery: {exc}",
                        extra={"event": "complete-error"},
                    )
                    done = None
                    break
                time.sleep(PAUSE_S)
        markers: list[Any] = [None] * len(batch)
        if done is not None:
            markers = [
                recorded_completion(runtime, f.row, f.attempt, f.took_s, f.row.id in done) for f in batch
            ]
        connection = runtime.backends.redis
        try:
            self._file_in_rq(connection, batch, markers, done is not None)
        except redis.exceptions.NoScriptError:
            # The scripts are sent by hash without redis-py's SCRIPT EXISTS round trip before
            # each batch; a Redis that lost them (restart, SCRIPT FLUSH) gets them again, and
            # the batch is sent again: what ran the first time (the non-script writes) is
            # idempotent, and no script ran.
            load_scripts(connection)
            self._file_in_rq(connection, batch, markers, done is not None)

    @staticmethod
    def _file_in_rq(connection: Any, batch: list[Finished], markers: list[Any], recorded: bool) -> None:
        """RQ's side of each finished execution, in one pipeline: RQ's success for the
        executions recorded as completed, else a clean-up of this execution only."""
        from jobctl.worker.runner import CANCELLED

        with connection.pipeline(transaction=False) as pipe:
            for f, marker in zip(batch, markers, strict=True):
                if f.job is None or f.worker is None:
                    continue
                if marker is None and recorded and succeed(f.worker, f.job, f.result_ttl, f.execution, pipe):
                    continue
                # Not ours to finish (late, or not recorded): clean up this execution only.
                if marker is CANCELLED:
                    f.job.set_status(RQJobStatus.CANCELED, pipeline=pipe)
                    CanceledJobRegistry(f.job.origin, connection=connection).add(f.job, pipeline=pipe)
                if f.execution is not None:
                    f.execution.delete(job=f.job, pipeline=pipe)
                release_slot(f.worker, f.job.id, pipe)
            pipe.execute()
