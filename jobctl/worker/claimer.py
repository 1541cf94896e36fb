"""Claims for all of a worker's slots that want one at the same moment, in one statement.

The SQL claim of each job a slot pops: the same fenced PENDING -> RUNNING with its attempt row
started as claim_row() writes, at the time given (JobRepository.claim_rows), for every slot
that asked while the previous batch was in flight (jobctl.worker.group_commit). The popper
(jobctl.worker.popper) claims the jobs it pops this way before it hands them to the slots;
`claim` is the path of a job that was not claimed so (an RQ job popped by RQ's own dequeue).

Why: in the 60-slot worker (benchmarks worker-concurrent-io) each slot's own claim was one
PostgreSQL round trip and commit a job, 11.6 % of the process's GIL time (py-spy), and 60
connections busy; at --concurrency 200 the slots ran PostgreSQL out of connections
("cannot reach the database"). A failed batch fails every claim in it, as each claim alone
would have (the runner re-raises: RQ files the job as it did).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from jobctl.domain.records import JobRecord
from jobctl.worker.group_commit import GroupCommit

if TYPE_CHECKING:
    from jobctl.store.jobs_repo import JobRepository


class Claimer:
    """Batches the claims of one process's slots (thread-safe)."""

    def __init__(self, repo: JobRepository, worker: str) -> None:
        self._repo = repo
        self._worker = worker
        self._group: GroupCommit[tuple[str, datetime], JobRecord | None] = GroupCommit(self.claim_now)

    @property
    def batches(self) -> int:
        """Statements run through `claim` (tests and measurements)."""
        return self._group.batches

    def claim(self, job_id: str, at: datetime) -> JobRecord | None:
        """claim_row(job_id, worker, at): the claimed row, or None if the job was not PENDING."""
        return self._group.submit((job_id, at))

    def claim_now(self, claims: Sequence[tuple[str, datetime]]) -> list[JobRecord | None]:
        """Claim each (job_id, at) in one statement, now: its row, or None where the job was
        not PENDING (the same job twice: only the first gets it)."""
        rows = self._repo.claim_rows(claims, self._worker)
        return [rows.pop(job_id, None) for job_id, _ in claims]
