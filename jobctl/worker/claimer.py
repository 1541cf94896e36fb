"""Claims for all of a worker's slots that want one at the same moment, in one statement.

Each slot still pops its own RQ job (RQ's loop, `rq info` and the recovery sweep see what they
always saw); only the SQL claim is shared. A slot asking while no claim is in flight runs one
at once, for itself and for every slot that asked meanwhile; a slot asking while one is in
flight waits for it to end, then the first of the waiters runs the next one for all of them
(group commit: no thread of its own, no added wait when the worker is quiet). Each claim is
the same fenced PENDING -> RUNNING with its attempt row started as claim_row() writes, at the
time the slot asked (JobRepository.claim_rows).

Why: in the 60-slot worker (benchmarks worker-concurrent-io) each slot's own claim was one
PostgreSQL round trip and commit a job, 11.6 % of the process's GIL time (py-spy), and 60
connections busy; at --concurrency 200 the slots ran PostgreSQL out of connections
("cannot reach the database"). A failed batch fails every claim in it, as each claim alone
would have (the runner re-raises: RQ files the job as it did).
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import TYPE_CHECKING

from jobctl.domain.records import JobRecord

if TYPE_CHECKING:
    from jobctl.store.jobs_repo import JobRepository


class _Request:
    __slots__ = ("at", "error", "job_id", "lead", "row", "wake")

    def __init__(self, job_id: str, at: datetime) -> None:
        self.job_id = job_id
        self.at = at
        self.row: JobRecord | None = None
        self.error: BaseException | None = None
        self.lead = False  # woken to run the next batch, not with its answer
        self.wake = threading.Lock()
        self.wake.acquire()

    def answer(self) -> JobRecord | None:
        if self.error is not None:
            raise self.error
        return self.row


class Claimer:
    """Batches the claims of one process's slots (thread-safe)."""

    def __init__(self, repo: JobRepository, worker: str) -> None:
        self._repo = repo
        self._worker = worker
        self._mutex = threading.Lock()
        self._pending: list[_Request] = []
        self._busy = False  # a batch is in flight
        self.batches = 0  # statements run (tests and measurements)

    def claim(self, job_id: str, at: datetime) -> JobRecord | None:
        """claim_row(job_id, worker, at): the claimed row, or None if the job was not PENDING."""
        request = _Request(job_id, at)
        with self._mutex:
            self._pending.append(request)
            lead = not self._busy
            self._busy = True
        if not lead:
            request.wake.acquire()  # released with the answer, or to lead the next batch
            if not request.lead:
                return request.answer()
        self._run_batch()
        return request.answer()

    def _run_batch(self) -> None:
        with self._mutex:
            batch, self._pending = self._pending, []
        try:
            rows = self._repo.claim_rows([(r.job_id, r.at) for r in batch], self._worker)
            for r in batch:
                r.row = rows.pop(r.job_id, None)  # the same job twice: only the first runs it
        except BaseException as exc:
            for r in batch:
                r.error = exc
        self.batches += 1
        with self._mutex:
            following = self._pending[0] if self._pending else None
            if following is None:
                self._busy = False
            else:
                following.lead = True
        for r in batch:
            if not r.lead:
                r.wake.release()
        if following is not None:
            following.wake.release()
