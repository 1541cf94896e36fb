"""The worker's rate-gate mirror on the real Redis: while it is live an open gate costs no round
trip (counted by Redis's own command stats), a close from another process reaches it at once,
gates closed before it started are read, a gate an operator deleted is open again, and a lost
subscription sends every check to Redis until the mirror has resubscribed and rescanned."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
import redis

from jobctl.queue.rate_gate import RedisRateGate, gate_key
from jobctl.queue.rate_gate_mirror import GateMirror

ACCOUNT = "17841400000000001"


@pytest.fixture
def mirrored(redis_conn: redis.Redis) -> Iterator[RedisRateGate]:
    gate = RedisRateGate(redis_conn, mirror=True)
    try:
        yield gate
    finally:
        gate.stop()


def mirror_of(gate: RedisRateGate) -> GateMirror:
    mirror = gate._mirror
    assert mirror is not None
    return mirror


def until(check: Callable[[], bool], timeout_s: float = 5.0) -> float:
    """Seconds until `check()` held (fails the test past `timeout_s`)."""
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < timeout_s, "condition not reached"
        time.sleep(0.005)
    return time.monotonic() - start


def pttl_calls(redis_conn: redis.Redis) -> int:
    stats = redis_conn.info("commandstats")
    return int(stats.get("cmdstat_pttl", {}).get("calls", 0))


def live(gate: RedisRateGate) -> None:
    gate.wait_s("instagram", ACCOUNT)  # the first check starts the subscriber
    until(lambda: mirror_of(gate).live)


def test_an_open_gate_costs_no_round_trip_and_another_process_close_arrives_at_once(
    redis_conn: redis.Redis, mirrored: RedisRateGate
) -> None:
    live(mirrored)
    before = pttl_calls(redis_conn)
    for _ in range(200):
        assert mirrored.wait_s("instagram", ACCOUNT) is None
    assert pttl_calls(redis_conn) == before  # 200 checks, no PTTL sent

    other_worker = RedisRateGate(redis_conn)  # another process, no mirror of its own
    other_worker.close("instagram", ACCOUNT, 120, "429")
    took = until(lambda: mirrored.wait_s("instagram", ACCOUNT) is not None)
    assert took < 0.5, took
    wait = mirrored.wait_s("instagram", ACCOUNT)
    assert wait is not None and 118 < wait <= 120
    assert mirrored.wait_s("instagram", "another-account") is None  # other accounts go on


def test_own_close_is_seen_before_the_message_comes_back(mirrored: RedisRateGate) -> None:
    live(mirrored)
    mirrored.close("twitter", "2244994945", 30, "429")
    wait = mirrored.wait_s("twitter", "2244994945")  # no wait for the channel
    assert wait is not None and 29 < wait <= 30


def test_gates_closed_before_the_mirror_started_are_read(
    redis_conn: redis.Redis, mirrored: RedisRateGate
) -> None:
    RedisRateGate(redis_conn).close("instagram", ACCOUNT, 60, "429 from a worker started earlier")
    live(mirrored)
    assert mirror_of(mirrored).open(gate_key("instagram", ACCOUNT)) is False
    wait = mirrored.wait_s("instagram", ACCOUNT)
    assert wait is not None and 58 < wait <= 60


def test_a_gate_the_operator_deleted_is_open_and_a_reset_opens_it(
    redis_conn: redis.Redis, mirrored: RedisRateGate
) -> None:
    live(mirrored)
    RedisRateGate(redis_conn).close("instagram", ACCOUNT, 60, "429")
    until(lambda: mirrored.wait_s("instagram", ACCOUNT) is not None)
    redis_conn.delete(gate_key("instagram", ACCOUNT))  # an operator opens it by hand
    assert mirrored.wait_s("instagram", ACCOUNT) is None  # the mirror's "closed" is confirmed in Redis

    mirrored.close("linkedin", "urn:li:person:1", 0.3, "429")
    time.sleep(0.35)
    before = pttl_calls(redis_conn)
    assert mirrored.wait_s("linkedin", "urn:li:person:1") is None
    assert pttl_calls(redis_conn) == before  # past its deadline: open without asking


def test_a_lost_subscription_sends_checks_to_redis_until_it_is_back(
    redis_conn: redis.Redis, mirrored: RedisRateGate
) -> None:
    live(mirrored)
    db = redis_conn.connection_pool.connection_kwargs.get("db", 0)
    for client in redis_conn.client_list(_type="pubsub"):  # the subscriber's connection drops
        if int(client["db"]) == db:
            redis_conn.client_kill_filter(_id=client["id"])
    until(lambda: not mirror_of(mirrored).live, timeout_s=3)
    RedisRateGate(redis_conn).close("instagram", ACCOUNT, 90, "429 while the mirror was away")
    # Not live, or live again after a rescan: either way the close is seen.
    wait = mirrored.wait_s("instagram", ACCOUNT)
    assert wait is not None and 88 < wait <= 90
    until(lambda: mirror_of(mirrored).live, timeout_s=6)
    wait = mirrored.wait_s("instagram", ACCOUNT)
    assert wait is not None and 88 < wait <= 90
    before = pttl_calls(redis_conn)
    assert mirrored.wait_s("instagram", "another-account") is None
    assert pttl_calls(redis_conn) == before


def test_databases_of_one_server_have_their_own_channel(redis_url: str, redis_conn: redis.Redis) -> None:
    other_db = redis.Redis.from_url(redis_url.rsplit("/", 1)[0] + "/15")
    try:
        assert (
            mirror_of(RedisRateGate(redis_conn, mirror=True)).channel
            != mirror_of(RedisRateGate(other_db, mirror=True)).channel
        )
    finally:
        other_db.close()


def test_without_redis_the_mirror_never_goes_live_and_the_gate_reads_open() -> None:
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    down = redis.Redis(port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    gate = RedisRateGate(down, mirror=True)
    try:
        assert gate.wait_s("instagram", ACCOUNT) is None
        time.sleep(0.3)
        assert not mirror_of(gate).live
    finally:
        gate.stop()
