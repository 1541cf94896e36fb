"""Worker liveness: a short heartbeat per worker process, and self-fencing when it cannot beat.

Each process that runs jobs (the owner named in a RUNNING row's `worker`) keeps the key
`jobctl:hb:{owner}` alive with a TTL of `stall_seconds`, renewed every `heartbeat_seconds`.
Anyone may treat an owner whose key is gone as dead and recover its jobs.

The owner must stop acting before others may consider it dead: if it has not renewed for 70 %
of the TTL (Redis frozen, network cut, process paused), it fences itself — interrupts its
running jobs — strictly before the key can expire. A renewal that finds the key gone means it
was declared dead: it never silently resumes the old incarnation.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from redis import Redis

log = logging.getLogger("jobctl.worker")

HEARTBEAT_PREFIX = "jobctl:hb:"
SELF_FENCE_FRACTION = 0.7

# KEYS[1] heartbeat key; ARGV[1] this incarnation's token, ARGV[2] ttl ms, ARGV[3] "1" on first beat,
# ARGV[4] info JSON. Returns 1 if renewed/registered, 0 if our key was gone (declared dead).
_BEAT = """
local cur = redis.call('HGET', KEYS[1], 'token')
if (not cur and ARGV[3] == '1') or cur == ARGV[1] then
  redis.call('HSET', KEYS[1], 'token', ARGV[1], 'info', ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""


def heartbeat_key(owner: str) -> str:
    return f"{HEARTBEAT_PREFIX}{owner}"


def alive_owners(connection: Redis, owners: Sequence[str]) -> set[str]:
    """Which of `owners` have a live heartbeat (one round trip)."""
    if not owners:
        return set()
    with connection.pipeline(transaction=False) as pipe:
        for owner in owners:
            pipe.exists(heartbeat_key(owner))
        flags = pipe.execute()
    return {o for o, f in zip(owners, flags, strict=True) if f}


def owner_info(connection: Redis, owner: str) -> dict[str, Any] | None:
    raw = connection.hget(heartbeat_key(owner), "info")
    if raw is None:
        return None
    return dict(json.loads(raw))


class Heartbeat:
    """Keeps one owner's heartbeat alive from a background thread, fencing itself on loss."""

    def __init__(
        self,
        connection: Redis,
        owner: str,
        *,
        interval_s: float,
        ttl_s: float,
        info: Callable[[], dict[str, Any]],
        on_lost: Callable[[str], None],
        on_beat: Callable[[], None] | None = None,
    ) -> None:
        self.connection = connection
        self.owner = owner
        self.interval_s = interval_s
        self.ttl_s = ttl_s
        self.info = info
        self.on_lost = on_lost
        self.on_beat = on_beat
        self.token = uuid.uuid4().hex
        self.last_ok = time.monotonic()
        self._first = True
        self._fenced = False
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def beat(self) -> bool:
        """One renewal. False: the key was gone, so this incarnation was declared dead."""
        sent_at = time.monotonic()
        ok = bool(
            self.connection.eval(
                _BEAT,
                1,
                heartbeat_key(self.owner),
                self.token,
                int(self.ttl_s * 1000),
                "1" if self._first else "0",
                json.dumps(self.info(), default=str),
            )
        )
        if ok:
            self._first = False
            self.last_ok = sent_at  # the TTL runs from about when Redis saw it: no later than this
            self._fenced = False
        return ok

    def start(self) -> None:
        if not self.beat():
            raise RuntimeError(f"worker name {self.owner!r} is in use by a live worker")
        self._threads = [
            threading.Thread(target=self._beat_loop, name="jobctl-heartbeat", daemon=True),
            threading.Thread(target=self._watchdog, name="jobctl-watchdog", daemon=True),
        ]
        for t in self._threads:
            t.start()

    def stop(self, *, unregister: bool = True) -> None:
        self._stop.set()
        if unregister:
            try:
                self.connection.delete(heartbeat_key(self.owner))
            except Exception as exc:  # shutting down: best effort
                log.warning("could not remove heartbeat: %s", exc)

    def _beat_loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                if not self.beat():
                    self._fence("heartbeat key expired: this worker was declared dead")
                    self.token, self._first = uuid.uuid4().hex, True  # come back as a new incarnation
                    self.beat()
                elif self.on_beat is not None:
                    self.on_beat()
            except Exception as exc:
                log.warning(f"heartbeat failed: {exc}", extra={"event": "heartbeat-error"})

    def _watchdog(self) -> None:
        """Never touches Redis: fences on a clock, even while a renewal call hangs."""
        limit = self.ttl_s * SELF_FENCE_FRACTION
        while not self._stop.wait(min(0.2, self.interval_s / 2)):
            if not self._fenced and time.monotonic() - self.last_ok > limit:
                self._fence(f"no heartbeat renewal for {limit:.1f}s (Redis unreachable?)")

    def _fence(self, why: str) -> None:
        if self._fenced:
            return
        self._fenced = True
        log.error(f"self-fencing: {why}; stopping running jobs", extra={"event": "self-fence"})
        self.on_lost(why)
