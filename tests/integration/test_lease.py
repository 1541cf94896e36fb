"""The Redis lease: one holder, growing fencing tokens, loss on expiry."""

from __future__ import annotations

import time

import redis

from jobctl.queue.lease import RedisLease


def test_one_holder_and_growing_tokens(redis_url: str) -> None:
    conn = redis.Redis.from_url(redis_url)
    a = RedisLease(conn, "t", "a", ttl_s=0.3)
    b = RedisLease(conn, "t", "b", ttl_s=0.3)
    t1 = a.acquire()
    assert t1 is not None and b.acquire() is None
    assert a.acquire() == t1 and a.renew()  # re-acquiring keeps the same token
    assert b.current_holder() == "a"
    time.sleep(0.4)  # a stalls past its TTL
    t2 = b.acquire()
    assert t2 is not None and t2 > t1
    assert not a.renew() and a.token is None  # a learns it lost the lease
    a.release()  # no effect on b's lease
    assert b.current_holder() == "b"
    b.release()
    assert b.current_holder() is None
