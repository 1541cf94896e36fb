"""A named lease in Redis: one holder at a time, and a fencing token that grows on every take.

Used wherever exactly one process across all hosts must act (the scheduler's leader, the
reconciler): the holder renews it well within its TTL; a holder that stalls (paused, cut off)
loses it when the TTL runs out, and the next holder's token is larger, so anything stamped with
the old token can be told apart and refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from redis import Redis

SCHEDULER_LEASE = "scheduler"  # the lease `jobctl scheduler` processes elect their leader with

# KEYS[1] lease key, KEYS[2] token counter; ARGV[1] holder, ARGV[2] ttl ms.
# Take the lease if free (or already ours); a fresh take increments the token.
_ACQUIRE = """
local cur = redis.call('GET', KEYS[1])
if cur then
  local sep = string.find(cur, '|', 1, true)
  if string.sub(cur, 1, sep - 1) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(string.sub(cur, sep + 1))
  end
  return nil
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. token, 'PX', ARGV[2])
return token
"""

# ARGV[1] "holder|token", ARGV[2] ttl ms: renew only the very lease we took.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@dataclass
class RedisLease:
    connection: Redis
    name: str
    holder: str
    ttl_s: float
    token: int | None = field(default=None, init=False)

    @property
    def key(self) -> str:
        return f"jobctl:lease:{self.name}"

    @property
    def _value(self) -> str:
        return f"{self.holder}|{self.token}"

    def acquire(self) -> int | None:
        """Take (or keep) the lease; return the fencing token, or None if another holds it."""
        token = self.connection.eval(
            _ACQUIRE, 2, self.key, f"{self.key}:token", self.holder, int(self.ttl_s * 1000)
        )
        self.token = int(token) if token is not None else None
        return self.token

    def renew(self) -> bool:
        """Extend the lease if it is still ours; False means it was lost (stop acting)."""
        if self.token is None:
            return False
        ok = bool(self.connection.eval(_RENEW, 1, self.key, self._value, int(self.ttl_s * 1000)))
        if not ok:
            self.token = None
        return ok

    def release(self) -> None:
        if self.token is not None:
            self.connection.eval(_RELEASE, 1, self.key, self._value)
            self.token = None

    def remaining_s(self) -> float | None:
        """Seconds left on the lease whoever holds it; None when nobody does."""
        ttl = self.connection.pttl(self.key)
        return ttl / 1000 if isinstance(ttl, int) and ttl >= 0 else None

    def current_holder(self) -> str | None:
        raw = self.connection.get(self.key)
        if raw is None:
            return None
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        return text.rsplit("|", 1)[0]
