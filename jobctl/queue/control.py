"""Operator actions on the Redis side of a job: withdraw it from RQ, or ask its worker to stop it."""

from __future__ import annotations

from redis import Redis
from rq.exceptions import NoSuchJobError
from rq.job import JobStatus as RQJobStatus

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
