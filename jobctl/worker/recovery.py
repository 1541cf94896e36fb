"""Recovering executions that died: the worker stopped heartbeating, or the job hung.

A RUNNING row is given up on when its owner's heartbeat is gone (worker dead or cut off:
within stall_seconds plus one sweep), or when its owner lives but the job's lease lapsed
(no progress for the queue's lock duration). Recovery is a fenced update on the row — re-run,
or FAILED with a clear "stalled" error once the attempts are spent — and only the process whose
update wins fixes the RQ side, so a job is re-enqueued exactly once however many sweepers run.

A lost execution is not the job's failure: the job's first loss is queued again at once (not
behind the retry wait), so another listening worker starts it within stall + one sweep. Later
losses of the same job follow the retry waits (RetryPolicy.delay_after_loss), counted in
`jobctl:losses:{id}`; each loss costs an attempt, so a job that always kills its worker ends
FAILED without a tight crash loop.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import JobStatus as RQJobStatus
from rq.registry import FailedJobRegistry

from jobctl.domain.attempts import AttemptOutcome
from jobctl.domain.errors import JobStalledError
from jobctl.domain.records import JobError, JobRecord, NewJob
from jobctl.domain.retry import RetryPolicy
from jobctl.domain.timeparse import utcnow
from jobctl.queue.backends import Backends
from jobctl.queue.events import LOST, RECOVERED, JobEvent, add_to, event_of, publish
from jobctl.queue.rq_job import FAILURE_TTL_S, SERIALIZER, JobctlJob
from jobctl.worker.liveness import alive_owners
from jobctl.worker.runtime import job_lease_key

log = logging.getLogger("jobctl.recovery")

LOSSES_PREFIX = "jobctl:losses:"
LOSSES_TTL_S = 30 * 86400  # a job's losses are remembered for a month after the last one


def losses_key(job_id: str) -> str:
    return f"{LOSSES_PREFIX}{job_id}"


def note_loss(redis: Any, job_id: str) -> int:
    """Count one more lost execution of `job_id`; how many were lost before it (one round trip).
    Redis restarted empty forgets them: at worst one more immediate re-run."""
    with redis.pipeline(transaction=True) as pipe:
        pipe.incr(losses_key(job_id))
        pipe.expire(losses_key(job_id), LOSSES_TTL_S)
        count, _ = pipe.execute()
    return int(count) - 1


def unnote_loss(redis: Any, job_id: str) -> None:
    """Take back note_loss when the fenced update lost (someone else recorded the outcome)."""
    redis.decr(losses_key(job_id))


def loss_delay(backends: Backends, row: JobRecord, attempt: int) -> int | None:
    """Seconds before the re-run of a lost execution (None: attempts spent), counting the loss."""
    earlier = note_loss(backends.redis, row.id)
    return RetryPolicy(backends.settings.retry_intervals).delay_after_loss(attempt, row.max_attempts, earlier)


@dataclass
class SweepReport:
    retried: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def recovered(self) -> list[str]:
        return self.retried + self.failed


def new_job_of(row: JobRecord) -> NewJob:
    """The row as the producer takes it (scheduled for its next attempt, if any)."""
    return NewJob(
        id=row.id, type=row.type, queue=row.queue, organization_id=row.organization_id,
        payload=row.payload, max_attempts=row.max_attempts, schedule_id=row.schedule_id,
        scheduled_for=row.next_attempt_at,
    )  # fmt: skip


def requeue_in_rq(backends: Backends, job_id: str, events: Sequence[JobEvent] = ()) -> None:
    """Replace the RQ job by a fresh one built from the row (queued now, or scheduled for the
    row's next_attempt_at). Old executions' entries in the started registry go with it.
    `events` (the transition that put it back) go in the same pipeline."""
    row = backends.repo.get(job_id)
    if row is None:
        return
    _drop_rq_job(backends, job_id)
    backends.producer.push([new_job_of(row)], utcnow(), events)


def _drop_rq_job(backends: Backends, job_id: str) -> None:
    try:
        job = JobctlJob.fetch(job_id, connection=backends.redis, serializer=SERIALIZER)
    except NoSuchJobError:
        return
    job.delete(remove_from_queue=True)


def fail_in_rq(backends: Backends, row: JobRecord, message: str) -> None:
    """File the RQ job under its queue's FailedJobRegistry (as `rq info` expects for FAILED)."""
    try:
        job = JobctlJob.fetch(row.id, connection=backends.redis, serializer=SERIALIZER)
    except NoSuchJobError:
        return
    queue = Queue(row.queue, connection=backends.redis, job_class=JobctlJob, serializer=SERIALIZER)
    with backends.redis.pipeline() as pipe:
        queue.started_job_registry.remove_executions(job, pipeline=pipe)
        job.set_status(RQJobStatus.FAILED, pipeline=pipe)
        FailedJobRegistry(queue=queue).add(job, ttl=FAILURE_TTL_S, exc_string=message, pipeline=pipe)
        pipe.execute()


def owner_of(row: JobRecord) -> str:
    return row.worker or ""


def lease_holder(raw: bytes | str | None) -> tuple[str, int] | None:
    if raw is None:
        return None
    text = raw.decode() if isinstance(raw, bytes) else raw
    owner, _, attempt = text.rpartition("|")
    return (owner, int(attempt)) if attempt.isdigit() else None


class Loss(str):
    """Why an execution is given up on (the text operators read), and how its attempt ends on
    the timeline: lost (with its worker) or hung (in a live worker). A str, so callers that
    only show the reason need not know."""

    outcome: AttemptOutcome

    def __new__(cls, text: str, outcome: AttemptOutcome) -> Loss:
        loss = super().__new__(cls, text)
        loss.outcome = outcome
        return loss


def find_lost(
    backends: Backends, now: datetime, *, only_owner: str | None = None
) -> list[tuple[JobRecord, Loss]]:
    """RUNNING rows whose execution is gone, each with the reason."""
    rows = backends.repo.running()
    if only_owner is not None:
        why = Loss(f"its worker {only_owner} restarted", AttemptOutcome.LOST)
        return [(r, why) for r in rows if owner_of(r) == only_owner]
    if not rows:
        return []
    alive = alive_owners(backends.redis, sorted({owner_of(r) for r in rows}))
    leases = backends.redis.mget([job_lease_key(r.id) for r in rows])
    lost: list[tuple[JobRecord, Loss]] = []
    for row, raw in zip(rows, leases, strict=True):
        owner = owner_of(row)
        if owner not in alive:
            dead = Loss(f"its worker {owner} stopped heartbeating (dead or cut off)", AttemptOutcome.LOST)
            lost.append((row, dead))
            continue
        spec = backends.settings.queues.get(row.queue)
        lock = spec.lock_seconds if spec else 300
        holder = lease_holder(raw)
        started = row.started_at or row.updated_at
        if holder != (owner, row.attempts) and now - started > timedelta(seconds=lock):
            lost.append((row, Loss(f"no progress for {lock}s (hung)", AttemptOutcome.HUNG)))
    return lost


def recover(backends: Backends, row: JobRecord, reason: str, now: datetime) -> str | None:
    """Give up on the row's execution: retry per policy or fail. Returns "retried"/"failed", or
    None when another actor already moved the row (the fence rejected this one)."""
    error = JobError(type=JobStalledError.__name__, message=f"stalled: {reason}")
    ended = reason.outcome if isinstance(reason, Loss) else AttemptOutcome.LOST  # on the timeline
    delay = loss_delay(backends, row, row.attempts)
    if delay is not None:
        next_at = now + timedelta(seconds=delay)
        if not backends.repo.schedule_retry(row.id, row.attempts, error, next_at, now, outcome=ended):
            unnote_loss(backends.redis, row.id)
            return None
        lost = event_of(
            row, LOST, "RUNNING", "PENDING", row.attempts, now, error=error, next_attempt_at=next_at
        )
        requeue_in_rq(backends, row.id, [lost])
        outcome = "retried"
    else:
        if not backends.repo.fail(row.id, row.attempts, error, now, outcome=ended):
            unnote_loss(backends.redis, row.id)
            return None
        fail_in_rq(backends, row, f"jobctl: {error.message}")
        publish(backends.redis, [event_of(row, LOST, "RUNNING", "FAILED", row.attempts, now, error=error)])
        outcome = "failed"
    when = "" if outcome == "failed" else (" re-run now" if delay == 0 else f" re-run in {delay}s")
    log.warning(
        f"recovered job ({outcome}{when}): {reason}",
        extra={"job_id": row.id, "job_type": row.type, "queue": row.queue, "attempt": row.attempts,
               "event": "recovered", "status": "PENDING" if outcome == "retried" else "FAILED"},
    )  # fmt: skip
    return outcome


def sweep(backends: Backends, now: datetime, *, only_owner: str | None = None) -> SweepReport:
    report = SweepReport()
    for row, reason in find_lost(backends, now, only_owner=only_owner):
        try:
            outcome = recover(backends, row, reason, now)
        except Exception as exc:  # one bad row must not stop the others' recovery
            log.error(
                f"recovering job {row.id} failed: {type(exc).__name__}: {exc}", extra={"job_id": row.id}
            )
            continue
        if outcome == "retried":
            report.retried.append(row.id)
        elif outcome == "failed":
            report.failed.append(row.id)
    return report


def rescue_intermediate(
    backends: Backends, queues: list[str], seen_before: dict[str, set[str]]
) -> dict[str, set[str]]:
    """Put back jobs a worker popped and then died before starting them.

    RQ moves a dequeued id to the queue's intermediate list and registers the execution right
    after; a worker killed in between leaves the id there, and RQ cleans it only at its next
    maintenance (up to ten minutes). An id found there in two sweeps in a row whose row is
    still PENDING was never started: it goes back to the head of its queue. Ids of started or
    finished jobs are only removed (RQ leaves those behind for multi-queue workers).
    Returns what this sweep saw, to pass to the next one.
    """
    seen_now: dict[str, set[str]] = {}
    redis = backends.redis
    for name in queues:
        queue = Queue(name, connection=redis, job_class=JobctlJob, serializer=SERIALIZER)
        key = queue.intermediate_queue_key
        ids = {raw.decode() if isinstance(raw, bytes) else str(raw) for raw in redis.lrange(key, 0, -1)}
        seen_now[name] = ids
        stale = sorted(ids & seen_before.get(name, set()))
        if not stale:
            continue
        rows = backends.repo.get_many(stale)
        with redis.pipeline() as pipe:
            for job_id in stale:
                pipe.lrem(key, 0, job_id)
                row = rows.get(job_id)
                if (
                    row is not None
                    and row.status.value == "PENDING"
                    and redis.lpos(queue.key, job_id) is None
                ):
                    pipe.lpush(queue.key, job_id)
                    add_to(pipe, event_of(row, RECOVERED, "PENDING", "PENDING", row.attempts, utcnow()))
                    log.warning(
                        "job popped by a worker that died before starting it: back in its queue",
                        extra={"job_id": job_id, "queue": name, "event": "rescued"},
                    )
            pipe.execute()
        seen_now[name] = ids - set(stale)
    return seen_now


def rescue_started(
    backends: Backends, queues: list[str], seen_before: dict[str, set[str]]
) -> dict[str, set[str]]:
    """Put back jobs whose execution was registered but never claimed its row.

    A worker killed between RQ's bookkeeping (the job in the started registry) and the claim
    of the row leaves an execution that RQ expires only after its heartbeat TTL (minutes for
    jobs without a timeout). A job seen there in two sweeps in a row whose row is still
    PENDING never ran: its RQ job is rebuilt from the row.
    """
    seen_now: dict[str, set[str]] = {}
    for name in queues:
        queue = Queue(name, connection=backends.redis, job_class=JobctlJob, serializer=SERIALIZER)
        ids = set(queue.started_job_registry.get_job_ids(cleanup=False))
        seen_now[name] = ids
        stale = sorted(ids & seen_before.get(name, set()))
        if not stale:
            continue
        for job_id, row in backends.repo.get_many(stale).items():
            if row.status.value == "PENDING":
                back = event_of(row, RECOVERED, "PENDING", "PENDING", row.attempts, utcnow())
                requeue_in_rq(backends, job_id, [back])
                log.warning(
                    "job registered by a worker that died before running it: back in its queue",
                    extra={"job_id": job_id, "queue": name, "event": "rescued"},
                )
        seen_now[name] = ids - set(stale)
    return seen_now
