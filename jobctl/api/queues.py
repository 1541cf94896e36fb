"""Queues: pause and resume one queue's consumption (`jobctl queues pause|resume Q`).

A pause is per queue (RQ's `rq suspend` stops every worker): workers keep serving their
other queues, jobs already running finish normally, and enqueues still land (they wait).
The state lives in Redis (jobctl.queue.pause), with the OS user and time of the pause.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jobctl.domain.errors import UnknownQueueError
from jobctl.domain.timeparse import utcnow

if TYPE_CHECKING:
    from jobctl.api.jobs import JobctlAPI
    from jobctl.queue.pause import PauseInfo


@dataclass(frozen=True)
class PauseChange:
    queue: str
    paused: bool  # the state now
    changed: bool  # False: it already was in that state
    info: PauseInfo | None  # the pause (now in place, or just ended)

    def to_json(self) -> dict[str, Any]:
        return {
            "queue": self.queue, "paused": self.paused, "changed": self.changed,
            "paused_by": self.info.by if self.info else None,
            "paused_at": self.info.at.isoformat() if self.info and self.info.at else None,
        }  # fmt: skip


def _known(api: JobctlAPI, queue: str) -> None:
    from jobctl.queue.stats import known_queue_names

    names = known_queue_names(api.backends.redis, list(api.settings.queues))
    if queue not in names:
        raise UnknownQueueError(f"unknown queue {queue!r} (known: {', '.join(sorted(names))})")


def pause_queue(api: JobctlAPI, queue: str) -> PauseChange:
    """Workers stop taking jobs from `queue` within ~0.5 s; running jobs go on."""
    from jobctl.queue.pause import pause

    with api.backends.errors():
        _known(api, queue)
        info, created = pause(api.backends.redis, queue, utcnow())
    return PauseChange(queue, True, created, info)


def resume_queue(api: JobctlAPI, queue: str) -> PauseChange:
    """Workers take jobs from `queue` again within ~0.5 s."""
    from jobctl.queue.pause import resume

    with api.backends.errors():
        _known(api, queue)
        ended = resume(api.backends.redis, queue)
    return PauseChange(queue, False, ended is not None, ended)


def paused_queues(api: JobctlAPI) -> dict[str, PauseInfo]:
    from jobctl.queue.pause import paused_queues as read

    with api.backends.errors():
        return read(api.backends.redis)
