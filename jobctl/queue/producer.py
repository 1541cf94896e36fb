"""Put jobs whose rows are already written into RQ, with the same id, in one Redis pipeline.

The SQL row is written first (it is the system of record); only then does the RQ job appear.
A crash between the two leaves a PENDING row without an RQ job, which the reconciler
re-enqueues; the reverse (an RQ job without a row) cannot happen through this path.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from redis import Redis
from redis.client import Pipeline
from rq import Queue
from rq.exceptions import DuplicateJobError
from rq.job import Job

from jobctl.domain.records import NewJob
from jobctl.queue.rq_job import (
    ENTRY_POINT,
    FAILURE_TTL_S,
    NO_TIMEOUT,
    RESULT_TTL_S,
    SERIALIZER,
    JobctlJob,
)


class Producer:
    """Creates RQ jobs for rows; keeps one rq.Queue per name (each caches the server version)."""

    def __init__(self, connection: Redis) -> None:
        self.connection = connection
        self._queues: dict[str, Queue] = {}

    def queue(self, name: str) -> Queue:
        q = self._queues.get(name)
        if q is None:
            q = Queue(name, connection=self.connection, job_class=JobctlJob, serializer=SERIALIZER)
            self._queues[name] = q
        return q

    def push(self, jobs: Sequence[NewJob], now: datetime) -> None:
        """Enqueue (or schedule, when `scheduled_for` is in the future) every job in one pipeline."""
        if not jobs:
            return
        with self.connection.pipeline() as pipe:
            for new in jobs:
                self._add(pipe, new, now)
            pipe.execute()

    def build(self, job_id: str, job_type: str, queue: str) -> Job:
        """The RQ job of a row (not saved): jobctl's entry point with the row id as its only
        argument, the same id, jobctl's TTLs. Every path that puts a job into RQ builds it here."""
        return self.queue(queue).create_job(
            ENTRY_POINT,
            args=(job_id,),
            job_id=job_id,
            timeout=NO_TIMEOUT,
            result_ttl=RESULT_TTL_S,
            failure_ttl=FAILURE_TTL_S,
            description=f"{job_type} {job_id}",
            meta={"jobctl_type": job_type},
        )

    def push_unique(
        self, job_id: str, job_type: str, queue: str, not_before: datetime | None, now: datetime
    ) -> bool:
        """Enqueue (or schedule for `not_before`, if in the future) unless an RQ job with this id
        exists. The check and the write are one Lua script in RQ (`unique=True`), so of several
        processes pushing the same id at once exactly one succeeds; the others get False."""
        q = self.queue(queue)
        job = self.build(job_id, job_type, queue)
        try:
            if not_before is not None and not_before > now:
                q.schedule_job(job, not_before, unique=True)
            else:
                q.enqueue_job(job, unique=True)
        except DuplicateJobError:
            return False
        return True

    def _add(self, pipe: Pipeline, new: NewJob, now: datetime) -> None:
        q = self.queue(new.queue)
        rq_job = self.build(new.id, new.type, new.queue)
        if new.scheduled_for is not None and new.scheduled_for > now:
            q.schedule_job(rq_job, new.scheduled_for, pipeline=pipe)
        else:
            q.enqueue_job(rq_job, pipeline=pipe)
