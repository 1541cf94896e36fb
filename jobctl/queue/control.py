"""Operator actions on the Redis side of a job: withdraw it from RQ, or ask its worker to stop it."""

from __future__ import annotations

from collections.abc import Sequence

from redis import Redis
from rq.exceptions import NoSuchJobError
from rq.job import JobStatus as RQJobStatus

from jobctl.queue.progress import logs_key, progress_key
from jobctl.queue.rq_job import CANCEL_KEY_TTL_S, SERIALIZER, JobctlJob, cancel_key


def request_stop(connection: Redis, job_id: str) -> None:
    """The worker running `job_id` polls this key and stops the job within about a second."""
    connection.set(cancel_key(job_id), b"1", ex=CANCEL_KEY_TTL_S)


def withdraw(connection: Redis, job_id: str, *, cancelled: bool) -> None:
    """Take the RQ job out of its queue and registries.

    cancelled=True files it under RQ's CanceledJobRegistry (a cancelled PENDING job);
    cancelled=False deletes it (an operator's retry re-creates it fresh, with the same id).
    """
    try:
        job = JobctlJob.fetch(job_id, connection=connection, serializer=SERIALIZER)
    except NoSuchJobError:
        return
    if cancelled:
        if job.get_status(refresh=False) != RQJobStatus.CANCELED:
            job.cancel()
        return
    connection.delete(cancel_key(job_id))
    job.delete(remove_from_queue=True)


def purge(connection: Redis, jobs: Sequence[tuple[str, str]], extra_keys: Sequence[str] = ()) -> None:
    """Delete the Redis side of finished jobs, given as (id, queue), in ONE pipeline whatever
    their number: each id leaves its queue list (LREM) and every registry of its queue (one
    ZREM of all a queue's ids per registry; absent members are no-ops), and one DEL removes
    every job's RQ hash, dependency and result keys, cancel flag, progress and log keys, with
    `extra_keys` (the caller's per-job keys).

    Why not RQ's Job.delete: it re-reads each job's status first (a round trip per job) and
    needs the job fetched; this needs only the row's queue. Measured on the local Redis: 500
    jobs in ~12 ms, where one pipeline of per-job commands (10 a job) took ~75 ms."""
    if not jobs:
        return
    from rq.queue import Queue
    from rq.registry import (
        CanceledJobRegistry,
        DeferredJobRegistry,
        FailedJobRegistry,
        FinishedJobRegistry,
        ScheduledJobRegistry,
    )
    from rq.results import Result

    registries = (CanceledJobRegistry, DeferredJobRegistry, FailedJobRegistry, FinishedJobRegistry,
                  ScheduledJobRegistry)  # fmt: skip
    by_queue: dict[str, list[str]] = {}
    for job_id, queue in jobs:
        by_queue.setdefault(queue, []).append(job_id)
    keys: list[str] = list(extra_keys)
    with connection.pipeline(transaction=False) as pipe:
        for queue, ids in by_queue.items():
            queue_key = Queue(queue, connection=connection, serializer=SERIALIZER).key
            for job_id in ids:
                pipe.lrem(queue_key, 0, job_id)
            for registry in registries:
                pipe.zrem(registry(queue, connection=connection).key, *ids)
        for job_id, _ in jobs:
            job_key = JobctlJob.key_for(job_id)
            result_key: str = Result.get_key(job_id)  # type: ignore[no-untyped-call]
            keys += [job_key, JobctlJob.dependents_key_for(job_id), f"{job_key}:dependencies", result_key,
                     cancel_key(job_id), progress_key(job_id), logs_key(job_id)]  # fmt: skip
        pipe.delete(*keys)
        pipe.execute()
