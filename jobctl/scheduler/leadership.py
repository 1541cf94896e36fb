"""Who fires: the scheduler leader, holding a Redis lease (jobctl.queue.lease) with a fencing token.

The holder renews the lease every third of its TTL. A holder that finds it went longer than
the TTL without renewing (it was stalled: SIGSTOP, a long GC, a VM pause) gives leadership up
before doing anything else, whatever Redis says; the database fence (ScheduleRepository.
claim_tick) catches what slips through the gap between this check and a write.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable

from redis.exceptions import RedisError

from jobctl.queue.lease import RedisLease

log = logging.getLogger("jobctl.scheduler")

# KEYS[1] the lease's token counter; ARGV[1] the floor: raise the counter to it, never lower it.
_RAISE_FLOOR = """
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if cur < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
"""


class Leadership:
    def __init__(
        self,
        lease: RedisLease,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        on_change: Callable[[int | None], None] = lambda _token: None,
    ) -> None:
        self.lease = lease
        self.ttl_s = lease.ttl_s
        self.monotonic = monotonic
        self.on_change = on_change
        self.token: int | None = None
        self.renewed = 0.0  # monotonic time of the last successful take or renewal

    @property
    def holder(self) -> str:
        return self.lease.holder

    def lead(self) -> bool:
        """Keep (renewing when a third of the TTL is spent) or take the lease; True if leading.

        A new take is logged and returns True with a new token (callers reset their plans)."""
        mono = self.monotonic()
        if self.token is not None:
            age = mono - self.renewed
            if age < self.ttl_s / 3:
                return True
            if age >= self.ttl_s:
                self.lose(f"no renewal for {age:.1f}s (this process was stalled past its lease)")
            elif self.lease.renew():
                self.renewed = mono
                return True
            else:
                self.lose("the lease was taken over")
        token = self.lease.acquire()
        if token is None:
            return False
        self.renewed = mono
        self._set(token)
        log.info(f"scheduler {self.holder} leads (fencing token {token})", extra={"event": "scheduler-lead"})
        return True

    def still_leading(self) -> bool:
        """Before each claim: renew once half the lease is spent, so no claim runs on a stale lease."""
        if self.token is None:
            return False
        if self.monotonic() - self.renewed < self.ttl_s / 2:
            return True
        return self.lead()

    def renew_in(self) -> float:
        """Seconds until the next renewal is due."""
        return self.renewed + self.ttl_s / 3 - self.monotonic()

    def recover_lost_counter(self, fence: int | None) -> bool:
        """Fenced while still holding the lease: Redis lost its token counter (flushed, or a
        restart without persistence), so every new token is below the database's fence `fence`.
        Raise the counter past it and take a fresh token; True if leading again.

        A leader fenced because another took over cannot renew (the lease names the other
        holder), so this never lets a stale leader back in.
        """
        if fence is None or self.token is None or self.token >= fence or not self.lease.renew():
            return False
        self.lease.connection.eval(_RAISE_FLOOR, 1, f"{self.lease.key}:token", fence)
        self.lease.release()
        token = self.lease.acquire()
        if token is None or token <= fence:
            return False
        log.warning(
            f"scheduler {self.holder}: Redis lost the lease's token counter; raised it past the "
            f"database fence ({fence}), now leading with token {token}",
            extra={"event": "scheduler-lead"},
        )
        self.renewed = self.monotonic()
        self._set(token)
        return True

    def lose(self, why: str) -> None:
        log.warning(f"scheduler {self.holder} lost leadership: {why}", extra={"event": "scheduler-standby"})
        self.lease.token = None
        self._set(None)

    def resign(self) -> None:
        """Give the lease up (on shutdown) so a standby takes over at once, not after the TTL."""
        if self.token is not None:
            with contextlib.suppress(RedisError, OSError):  # it expires by itself
                self.lease.release()
            log.info(f"scheduler {self.holder} resigned leadership", extra={"event": "scheduler-resign"})
        self._set(None)

    def _set(self, token: int | None) -> None:
        self.token = token
        self.on_change(token)
