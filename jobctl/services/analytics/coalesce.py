"""Brand learning recomputed once per burst of syncs of an organisation, never from stale rows.

A recompute reads every post of the organisation (~25 ms of CPU for 400 posts), so recomputing
after each of many syncs of one organisation (one job per account, a backlog after an outage)
repeats the same work: 200 one-account jobs over 25 organisations spent ~5 s of a worker's CPU
on it. Instead, through Redis (keys `jobctl:learning:{org}:gen|done|lock`):

1. a sync that stored metrics marks its organisation dirty, after its rows are committed
   (`mark`: INCR of the organisation's generation);
2. at the end of every sync-analytics job, whatever its outcome, while the organisation is
   dirty (generation > the last one recomputed) `settle`:
   - another sync-analytics job of the organisation is PENDING and due: skip; that job settles
     when it ends, and it starts after these rows were committed ("deferred");
   - else take the organisation's lock (SET NX); another job holds it: skip; the holder
     recomputes again when it sees the generation moved during its recompute ("coalesced");
   - else recompute, and again while the generation moved meanwhile; then release.

So every sync's rows are seen by a recompute that starts after they were committed: its own,
the running one's next round, or that of the last due sync of the burst (the delay is the time
the queue takes to reach it). The last sync of a burst always recomputes or hands over to a
recompute running then. A worker killed while holding the lock (it expires after 60 s of
silence) or a due job cancelled before it ran leave the rows to the organisation's next sync.
Redis unreachable: the sync recomputes itself, as each did before (concurrent recomputes may
then store an older set; the next sync corrects it).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError

log = logging.getLogger("jobctl.analytics")

PREFIX = "jobctl:learning:"
LOCK_MS = 60_000  # a holder renews it every round; a dead one frees it after this
KEEP_S = 7 * 86_400  # generations outlive any burst, then go (an idle organisation costs nothing)

DEFERRED = "deferred: another sync of the organisation is due and recomputes after it"
COALESCED = "coalesced: the organisation's running recompute includes these metrics"
CURRENT = "current: a later recompute already included these metrics"

# KEYS: lock, gen, done. ARGV: token, the generation just recomputed, KEEP_S, LOCK_MS.
# 1: released (nothing new); 0: the generation moved, recompute again (lock renewed);
# 2: the lock is no longer ours (it expired): stop, its new holder carries on.
_FINISH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 2 end
redis.call('SET', KEYS[3], ARGV[2], 'EX', tonumber(ARGV[3]))
if (redis.call('GET', KEYS[2]) or '0') == ARGV[2] then
  redis.call('DEL', KEYS[1])
  return 1
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
return 0
"""
# KEYS: lock. ARGV: token. A holder whose recompute raised frees the lock for the next sync.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _keys(organization_id: str) -> tuple[str, str, str]:
    base = f"{PREFIX}{organization_id}:"
    return base + "lock", base + "gen", base + "done"


def _int(value: Any) -> int:
    return int(value) if value is not None else 0


class LearningCoalescer:
    """The protocol above over one Redis connection (pool); thread-safe."""

    def __init__(self, redis: Any) -> None:
        self._redis = redis
        self._finish = redis.register_script(_FINISH)
        self._release = redis.register_script(_RELEASE)

    def mark(self, organization_id: str) -> None:
        """The organisation has new metrics (call after they are committed)."""
        _, gen, _ = _keys(organization_id)
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(gen)
            pipe.expire(gen, KEEP_S)
            pipe.execute()

    def settle(
        self, organization_id: str, recompute: Callable[[], str], others_due: Callable[[], bool]
    ) -> str | None:
        """Recompute when this job must (see the module docstring): the recompute's outcome,
        else why not; None when the organisation has nothing new."""
        lock, gen, done = _keys(organization_id)
        current, recomputed = self._redis.mget(gen, done)
        if _int(current) <= _int(recomputed):
            return None
        if others_due():
            return DEFERRED
        token = uuid.uuid4().hex
        if not self._redis.set(lock, token, nx=True, px=LOCK_MS):
            return COALESCED
        try:
            while True:
                seen = str(_int(self._redis.get(gen)))
                outcome = recompute()
                if self._finish(keys=[lock, gen, done], args=[token, seen, KEEP_S, LOCK_MS]) != 0:
                    return outcome
        except BaseException:
            self._release(keys=[lock], args=[token])
            raise


def settle_learning(
    coalescer: LearningCoalescer | None,
    organization_id: str,
    *,
    stored: bool,
    recompute: Callable[[], str],
    others_due: Callable[[], bool],
) -> str:
    """A sync job's brand-learning step: `stored` says whether it wrote metrics. Without a
    coalescer (no worker Redis) or with Redis down, a sync that stored metrics recomputes."""
    if coalescer is not None:
        try:
            if stored:
                coalescer.mark(organization_id)
            said = coalescer.settle(organization_id, recompute, others_due)
            return said if said is not None else (CURRENT if stored else "not run")
        except RedisError as exc:
            log.warning("brand learning coalescing unavailable for %s: %s", organization_id, exc)
    return recompute() if stored else "not run"
