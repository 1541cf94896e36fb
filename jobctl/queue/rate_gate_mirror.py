"""A worker process's copy of every closed rate-limit gate, kept current over pub/sub.

Why: the gate's truth is a Redis key's TTL (jobctl.queue.rate_gate), and reading it before each
platform request cost 7 % of the analytics-sync worker's GIL time (py-spy, 60 slots, 10,200
requests: a PTTL round trip and its GIL reacquisition per request). Closures are rare and
requests are many, so each close also PUBLISHes `"{key} {ms}"` on its database's channel
(channel_for), and this mirror, one subscriber thread per process, keeps `key -> local
deadline`. A check is then a dict lookup while the mirror is live.

The mirror only ever answers "open for sure". A key it holds as closed is confirmed with a
PTTL (an operator may have deleted the key), and while it is not live (starting, its
connection lost or silent, Redis down) every check goes to Redis as before. It turns live only
after it is subscribed *and* has read the gates already closed (subscribe first, then scan, so
no close falls between the two). Its connection is pinged every PING_S; no answer within
SILENT_S and it stops answering until it has resubscribed and rescanned.

What it gives up: a close made by another process reaches this one in the time a PUBLISH takes
to arrive (well under a millisecond here), so a request may start in that window, as one
already in flight when the 429 came does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError

log = logging.getLogger("jobctl.rategate")

CHANNEL = "jobctl:rategate:closed"


def channel_for(redis: Any) -> str:
    """The closes' channel of this Redis database: pub/sub ignores SELECT, and deployments that
    share a server on different databases must not hear each other's closes."""
    return f"{CHANNEL}:{redis.connection_pool.connection_kwargs.get('db', 0)}"


PING_S = 5.0
SILENT_S = 15.0
RETRY_MAX_S = 5.0


class GateMirror:
    """Every closed gate this process has heard of, with its local (monotonic) deadline."""

    def __init__(
        self, redis: Any, prefix: str, channel: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self.channel = channel
        self._clock = clock
        self._deadlines: dict[str, float] = {}
        self._live = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._lock = threading.Lock()

    @property
    def live(self) -> bool:
        return self._live

    def open(self, key: str) -> bool:
        """True when the gate is open for sure; False: closed by the mirror, or it cannot tell."""
        if self._thread is None:
            self._start()
        return self._live and self._deadlines.get(key, 0.0) <= self._clock()

    def note(self, key: str, ms: int) -> None:
        """A closure of `ms` from now (this process's own close, or one heard on the channel)."""
        deadline = self._clock() + ms / 1000
        with self._lock:  # the slots' own closes and the subscriber's may cross
            if deadline > self._deadlines.get(key, 0.0):
                self._deadlines[key] = deadline

    def stop(self) -> None:
        self._stop.set()
        self._live = False
        if self._thread is not None:
            self._thread.join(timeout=PING_S)

    # -- the subscriber thread -------------------------------------------------------------------

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="jobctl-rategate-mirror", daemon=True)
                thread.start()
                self._thread = thread

    def _run(self) -> None:
        wait = 0.1
        while not self._stop.is_set():
            try:
                self._session()
                wait = 0.1
            except (RedisError, OSError, TimeoutError) as exc:
                if self._live:
                    log.info(f"rate-limit gate mirror lost its connection, checking Redis meanwhile: {exc}")
            self._live = False
            self._stop.wait(wait)
            wait = min(wait * 2, RETRY_MAX_S)

    def _session(self) -> None:
        pubsub = self._redis.pubsub()
        try:
            pubsub.subscribe(self.channel)
            self._await_subscribed(pubsub)
            self._seed()
            self._live = True
            heard = pinged = self._clock()
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=1.0)
                now = self._clock()
                if message is not None:
                    heard = now
                    if message.get("type") == "message":
                        self._heard(message.get("data"))
                if now - pinged >= PING_S:
                    pubsub.ping()
                    pinged = now
                    self._prune(now)
                if now - heard > SILENT_S:
                    raise TimeoutError(f"no answer on the gate channel for {SILENT_S:g}s")
        finally:
            self._live = False
            pubsub.close()

    def _await_subscribed(self, pubsub: Any) -> None:
        deadline = self._clock() + SILENT_S
        while self._clock() < deadline and not self._stop.is_set():
            message = pubsub.get_message(timeout=1.0)
            if message is not None and message.get("type") == "subscribe":
                return
        raise TimeoutError("the gate channel's subscription was not confirmed")

    def _seed(self) -> None:
        """Read the gates closed before the subscription (one PTTL each, pipelined)."""
        keys = [k.decode() if isinstance(k, bytes) else str(k)
                for k in self._redis.scan_iter(match=f"{self._prefix}*", count=1000)]  # fmt: skip
        if not keys:
            return
        with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.pttl(key)
            for key, ms in zip(keys, pipe.execute(), strict=True):
                if ms is not None and int(ms) > 0:
                    self.note(key, int(ms))

    def _heard(self, data: Any) -> None:
        text = data.decode() if isinstance(data, bytes) else str(data)
        key, _, ms = text.rpartition(" ")
        try:
            self.note(key, int(ms))
        except ValueError:
            log.debug(f"rate-limit gate mirror: unreadable message {text[:80]!r}")

    def _prune(self, now: float) -> None:
        with self._lock:
            for key in [k for k, deadline in self._deadlines.items() if deadline <= now]:
                del self._deadlines[key]
