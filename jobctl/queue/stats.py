"""Queue counts and workers, read from RQ's own keys so they agree with `rq info`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from redis import Redis
from rq import Queue, Worker

from jobctl.queue.pause import PauseInfo, paused_queues
from jobctl.queue.rq_job import SERIALIZER, JobctlJob


@dataclass(frozen=True)
class QueueCounts:
    name: str
    queued: int  # waiting in the queue list (rq info's count)
    running: int  # StartedJobRegistry ("executing" in rq info)
    scheduled: int  # ScheduledJobRegistry: delayed jobs and retries waiting for their time
    failed: int  # FailedJobRegistry
    completed: int  # FinishedJobRegistry (RQ keeps finished jobs for their result TTL)
    cancelled: int  # CanceledJobRegistry
    workers: int
    paused: PauseInfo | None = None  # `jobctl queues pause`: who and since when

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["paused"] = self.paused is not None
        out["paused_by"] = self.paused.by if self.paused else None
        out["paused_at"] = self.paused.at.isoformat() if self.paused and self.paused.at else None
        return out


@dataclass(frozen=True)
class WorkerInfo:
    name: str
    hostname: str | None
    pid: int | None
    queues: list[str]
    state: str
    current_job_id: str | None
    last_heartbeat: datetime | None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["last_heartbeat"] = self.last_heartbeat.isoformat() if self.last_heartbeat else None
        return out


def list_workers(connection: Redis) -> list[WorkerInfo]:
    out = []
    for w in Worker.all(connection=connection, job_class=JobctlJob, serializer=SERIALIZER):
        out.append(
            WorkerInfo(
                name=w.name,
                hostname=w.hostname,
                pid=w.pid,
                queues=w.queue_names(),
                state=str(w.get_state()),
                current_job_id=w.get_current_job_id(),
                last_heartbeat=w.last_heartbeat,
            )
        )
    return sorted(out, key=lambda w: w.name)


def queue_counts(connection: Redis, names: Sequence[str], workers: Sequence[WorkerInfo]) -> list[QueueCounts]:
    out = []
    paused = paused_queues(connection)
    for name in names:
        q = Queue(name, connection=connection, job_class=JobctlJob, serializer=SERIALIZER)
        out.append(
            QueueCounts(
                name=name,
                queued=q.count,
                running=q.started_job_registry.count,
                scheduled=q.scheduled_job_registry.count,
                failed=q.failed_job_registry.count,
                completed=q.finished_job_registry.count,
                cancelled=q.canceled_job_registry.count,
                workers=sum(1 for w in workers if name in w.queues),
                paused=paused.get(name),
            )
        )
    return out


def known_queue_names(connection: Redis, configured: Sequence[str]) -> list[str]:
    """Configured queues first, then any other queue RQ knows about on this Redis."""
    names = list(configured)
    for q in Queue.all(connection=connection, job_class=JobctlJob, serializer=SERIALIZER):
        if q.name not in names:
            names.append(q.name)
    return names
