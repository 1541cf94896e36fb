"""Per-queue pause: operators stop a queue's consumption without stopping its workers.

RQ's `rq suspend` stops every worker on a Redis; jobctl pauses one queue. The state is one
Redis hash, `jobctl:paused-queues` (field: queue name, value: JSON {by, at, host}), so it
outlives worker restarts and every worker on every host sees the same. Producers and the
scheduler still enqueue into a paused queue: its jobs wait there and nothing is lost.

Workers read the hash through a PauseGate: one HGETALL per process at most every
REFRESH_S, shared by all slots (no round trip per job). A slot consults it before each
dequeue and leaves paused queues out; a job that a blocking pop took from a queue paused
meanwhile goes back to the head of the queue. So a pause takes effect within REFRESH_S
plus one dequeue, and a resume within REFRESH_S plus PAUSED_POLL_S.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

PAUSED_KEY = "jobctl:paused-queues"
REFRESH_S = 0.25  # how stale a worker's view of the pauses may be
PAUSED_POLL_S = 0.25  # a slot whose every queue is paused looks again after this
OPEN_BLOCK_S = 0.5  # a slot with some queues paused blocks on the others at most this long


@dataclass(frozen=True)
class PauseInfo:
    queue: str
    by: str | None  # the OS user who paused it (and their host)
    at: datetime | None
    host: str | None = None

    def to_json(self) -> dict[str, Any]:
        at = self.at.isoformat() if self.at else None
        return {"queue": self.queue, "by": self.by, "host": self.host, "at": at}


def operator() -> str:
    """The OS user running this command (what `who paused it` records)."""
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (a container's arbitrary uid)
        return f"uid {os.getuid()}"


def pause(connection: Any, queue: str, now: datetime) -> tuple[PauseInfo, bool]:
    """Pause `queue`; (its pause, whether it was newly paused). Pausing twice keeps the first
    pause's who and when (HSETNX)."""
    value = json.dumps({"by": operator(), "host": socket.gethostname(), "at": now.isoformat()})
    created = bool(connection.hsetnx(PAUSED_KEY, queue, value))
    info = paused_queues(connection).get(queue)
    return info or PauseInfo(queue, operator(), now, socket.gethostname()), created


def resume(connection: Any, queue: str) -> PauseInfo | None:
    """Resume `queue`; the pause it ended (None: it was not paused)."""
    with connection.pipeline() as pipe:
        pipe.hget(PAUSED_KEY, queue)
        pipe.hdel(PAUSED_KEY, queue)
        raw, _ = pipe.execute()
    return _parse(queue, raw) if raw is not None else None


def paused_queues(connection: Any) -> dict[str, PauseInfo]:
    """Every paused queue with who paused it and when (one HGETALL)."""
    raw = connection.hgetall(PAUSED_KEY)
    out = {}
    for name, value in raw.items():
        queue = name.decode() if isinstance(name, bytes) else str(name)
        out[queue] = _parse(queue, value)
    return out


def _parse(queue: str, raw: Any) -> PauseInfo:
    try:
        data = json.loads(raw)
        at = datetime.fromisoformat(data["at"]) if data.get("at") else None
        return PauseInfo(queue, data.get("by"), at, data.get("host"))
    except (ValueError, TypeError, KeyError):  # written by hand (`redis-cli hset`): still paused
        return PauseInfo(queue, None, None)


class PauseGate:
    """A worker process's view of the paused queues, refreshed at most every `refresh_s`
    by whichever slot asks first (thread-safe; the others use the cached set)."""

    def __init__(self, connection: Any, refresh_s: float = REFRESH_S) -> None:
        self.connection = connection
        self.refresh_s = refresh_s
        self._paused: frozenset[str] = frozenset()
        self._at = float("-inf")
        self._lock = threading.Lock()

    def paused(self) -> frozenset[str]:
        if time.monotonic() - self._at < self.refresh_s:
            return self._paused
        with self._lock:
            if time.monotonic() - self._at >= self.refresh_s:
                names = self.connection.hkeys(PAUSED_KEY)
                self._paused = frozenset(n.decode() if isinstance(n, bytes) else str(n) for n in names)
                self._at = time.monotonic()
        return self._paused


# KEYS[1] the queue, KEYS[2] its intermediate list (or the queue again); ARGV[1] the job id.
# A job a blocking pop took from a queue paused meanwhile goes back to the queue's head,
# where it was: out of the intermediate list (BLMOVE put it there) and in one step.
_GIVE_BACK = """
if KEYS[2] ~= KEYS[1] then redis.call('LREM', KEYS[2], 1, ARGV[1]) end
redis.call('LPUSH', KEYS[1], ARGV[1])
return 1
"""
_ATTR = "_jobctl_give_back"


def give_back(connection: Any, queue_key: str, intermediate_key: str | None, job_id: str) -> None:
    script = getattr(connection, _ATTR, None)
    if script is None:
        script = connection.register_script(_GIVE_BACK)
        setattr(connection, _ATTR, script)
    script(keys=[queue_key, intermediate_key or queue_key], args=[job_id], client=connection)
