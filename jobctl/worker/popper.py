"""Pops and claims for all of a worker's slots that want a job at the same moment.

A slot asking for its next job joins the batch of every slot asking meanwhile
(jobctl.worker.group_commit): one Redis pipeline runs each slot's own pop-and-start script
(the same script and the same RQ state as a pop alone, jobctl.worker.lean_scripts), then one
statement claims the SQL rows of the jobs popped (Claimer.claim_now), and each slot gets its
job with its claim attached, which the runner takes instead of claiming again.

Why: measured with per-phase timing in the 60-slot worker (benchmarks worker-concurrent-io),
a slot spent 17 ms on its own pop round trip and 36 ms waiting for the claim batch between
two 200 ms jobs: each blocking step is a GIL hand-off that 60 threads queue for. One batch for
both steps is one wait, and a round trip per batch rather than per job.

What it keeps: a job is popped and started atomically for its slot (an id never rests where
the recovery sweep would not look), the claim is the same fenced PENDING -> RUNNING at the
time of the pop, and a claim that fails fails that job's execution as before (the runner
raises it). A job that is not jobctl's (RQ refuses it in the slot) is not claimed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import redis.exceptions

from jobctl.domain.records import JobRecord
from jobctl.queue.rq_job import ENTRY_POINT
from jobctl.worker.group_commit import GroupCommit
from jobctl.worker.lean_scripts import PopStart, load_scripts, pipe_pop

if TYPE_CHECKING:
    from rq.job import Job
    from rq.queue import Queue

    from jobctl.worker.claimer import Claimer

CLAIM_ATTR = "_jobctl_claim"  # on the RQ job: the Claimed the runner takes


@dataclass(frozen=True)
class Claimed:
    """The claim made for a popped job: the row (None: it was not PENDING) or the error."""

    job_id: str
    row: JobRecord | None
    error: BaseException | None = None

    def result(self) -> JobRecord | None:
        if self.error is not None:
            raise self.error
        return self.row


@dataclass(frozen=True)
class _Ask:
    worker: Any
    queue: Queue
    job_class: type[Job]
    serializer: Any


class _Again:
    """The id popped had no job hash (skipped, as RQ does): that slot pops again."""


_AGAIN = _Again()
Answer = tuple["Job", "Queue"] | None | _Again


class Popper:
    """Batches one process's slots' pops and claims (thread-safe)."""

    def __init__(self, connection: Any, claimer: Claimer | None) -> None:
        self._connection = connection  # the process's Redis client: one pipeline a batch
        self._claimer = claimer
        self._group: GroupCommit[_Ask, Answer] = GroupCommit(self._batch)

    @property
    def batches(self) -> int:
        return self._group.batches

    def pop(
        self, worker: Any, queue: Queue, job_class: type[Job], serializer: Any
    ) -> tuple[Job, Queue] | None:
        """pop_and_start(worker, queue, ...) with the job's claim attached (CLAIM_ATTR); None
        when the queue is empty."""
        while True:
            answer = self._group.submit(_Ask(worker, queue, job_class, serializer))
            if not isinstance(answer, _Again):
                return answer

    def _batch(self, asks: list[_Ask]) -> list[Answer | BaseException]:
        starts = [PopStart(a.worker, a.queue, a.job_class) for a in asks]
        replies = self._send(starts)
        answers: list[Answer | BaseException] = []
        claims: list[tuple[Job, str, datetime]] = []
        for ask, start, reply in zip(asks, starts, replies, strict=True):
            if isinstance(reply, BaseException) or not reply:
                answers.append(reply if isinstance(reply, BaseException) else None)
                continue
            try:
                job = start.restore(reply, ask.serializer)
            except Exception as exc:  # RQ's handling of a job it cannot restore, in that slot
                answers.append(exc)
                continue
            if job is None:
                answers.append(_AGAIN)
                continue
            answers.append((job, ask.queue))
            row_id = _row_id(job)
            if row_id is not None:
                claims.append((job, row_id, start.started))
        if claims and self._claimer is not None:
            self._claim(claims)
        return answers

    def _send(self, starts: list[PopStart]) -> list[Any]:
        """Each start's script reply (or error), in one pipeline; scripts a Redis lost (restart,
        SCRIPT FLUSH) are loaded and those pops sent again (a NOSCRIPT pop did not run)."""
        replies = self._pipeline(starts)
        again = [i for i, r in enumerate(replies) if isinstance(r, redis.exceptions.NoScriptError)]
        if again:
            load_scripts(self._connection)
            for i, reply in zip(again, self._pipeline([starts[i] for i in again]), strict=True):
                replies[i] = reply
        return replies

    def _pipeline(self, starts: list[PopStart]) -> list[Any]:
        with self._connection.pipeline(transaction=False) as pipe:
            for start in starts:
                pipe_pop(pipe, start)
            return list(pipe.execute(raise_on_error=False))

    def _claim(self, claims: list[tuple[Job, str, datetime]]) -> None:
        assert self._claimer is not None
        try:
            rows = self._claimer.claim_now([(row_id, at) for _, row_id, at in claims])
        except Exception as exc:  # each of these executions fails as its own claim would have
            for job, row_id, _ in claims:
                setattr(job, CLAIM_ATTR, Claimed(row_id, None, exc))
            return
        for (job, row_id, _), row in zip(claims, rows, strict=True):
            setattr(job, CLAIM_ATTR, Claimed(row_id, row))


def _row_id(job: Job) -> str | None:
    """The SQL row a popped RQ job runs (jobctl's entry point, called with the row id); None
    for anything else, which the slot refuses or fails as before, unclaimed."""
    try:
        if job.func_name != ENTRY_POINT or job.instance is not None or job.kwargs:
            return None
        args = job.args
    except Exception:  # not JSON, not restorable: RQ's path reports it
        return None
    return args[0] if len(args) == 1 and isinstance(args[0], str) else None


def take_claim(job: Any, job_id: str) -> Claimed | None:
    """The claim the popper made for `job` running row `job_id` (taken once), or None."""
    claimed = getattr(job, CLAIM_ATTR, None) if job is not None else None
    if not isinstance(claimed, Claimed) or claimed.job_id != job_id:
        return None
    setattr(job, CLAIM_ATTR, None)
    return claimed
