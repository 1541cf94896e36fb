"""Brand learning coalesced per organisation on the real Redis (jobctl.services.analytics.coalesce):
a burst of syncs recomputes far fewer times than it has syncs, yet the last recompute always
starts after the last sync's metrics were committed; a due queued sync takes the recompute
over; a failed recompute frees the lock; Redis down falls back to recomputing. And the jobs
table look-up that says a sync of the organisation is due, on both backends."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import insert

from jobctl.services.analytics.coalesce import (
    COALESCED,
    DEFERRED,
    LearningCoalescer,
    settle_learning,
)
from jobctl.store.analytics_repo import AnalyticsRepository
from jobctl.store.tables import JOBS

ORG = "org-coalesce"


@pytest.fixture
def conn(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def never() -> bool:
    return False


def settle(c: LearningCoalescer, stored: bool, recompute: Any, others_due: Any = never) -> str:
    return settle_learning(c, ORG, stored=stored, recompute=recompute, others_due=others_due)


def test_one_sync_recomputes_once_and_then_nothing_is_new(conn: redis.Redis) -> None:
    c = LearningCoalescer(conn)
    calls: list[int] = []

    def recompute() -> str:
        calls.append(1)
        return "recomputed: 0 insight(s)"

    assert settle(c, True, recompute).startswith("recomputed")
    assert settle_learning(c, ORG, stored=False, recompute=recompute, others_due=never) == "not run"
    assert len(calls) == 1


def test_a_due_sync_takes_the_recompute_over(conn: redis.Redis) -> None:
    c = LearningCoalescer(conn)
    calls: list[int] = []

    def recompute() -> str:
        calls.append(1)
        return "recomputed: 0 insight(s)"

    assert settle_learning(c, ORG, stored=True, recompute=recompute, others_due=lambda: True) == DEFERRED
    assert not calls
    # the due job ends having stored nothing (its accounts failed): it still recomputes for the first
    assert settle(c, False, recompute).startswith("recomputed")
    assert len(calls) == 1


def test_a_sync_during_a_recompute_makes_the_holder_recompute_again(conn: redis.Redis) -> None:
    c = LearningCoalescer(conn)
    rounds: list[str] = []

    def recompute() -> str:
        rounds.append("holder")
        if len(rounds) == 1:  # another sync stores its metrics while this one recomputes
            said = settle_learning(c, ORG, stored=True, recompute=recompute, others_due=never)
            assert said == COALESCED
        return "recomputed: 0 insight(s)"

    settle_learning(c, ORG, stored=True, recompute=recompute, others_due=never)
    assert rounds == ["holder", "holder"]


def test_a_failed_recompute_frees_the_lock(conn: redis.Redis) -> None:
    c = LearningCoalescer(conn)

    def broken() -> str:
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError):
        settle_learning(c, ORG, stored=True, recompute=broken, others_due=never)
    said = settle(c, False, lambda: "recomputed: 1 insight(s)")
    assert said == "recomputed: 1 insight(s)"  # the organisation was still dirty, and the lock free


def test_redis_down_recomputes_as_before() -> None:
    dead = redis.Redis(port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    c = LearningCoalescer(dead)
    said = settle(c, True, lambda: "recomputed: 0 insight(s)")
    assert said == "recomputed: 0 insight(s)"
    assert settle_learning(c, ORG, stored=False, recompute=lambda: "x", others_due=never) == "not run"


def test_a_burst_recomputes_less_and_the_last_recompute_sees_every_sync(conn: redis.Redis) -> None:
    """16 syncs in 6 threads: every one 'commits' (a counter) then settles; each recompute notes
    how many commits it saw when it started. The last recompute saw all 16."""
    c = LearningCoalescer(conn)
    committed, seen, lock = [0], [], threading.Lock()
    rnd = random.Random(7)
    delays = [rnd.uniform(0, 0.05) for _ in range(16)]

    def recompute() -> str:
        with lock:
            seen.append(committed[0])
        time.sleep(0.03)  # a recompute takes a while: syncs keep arriving meanwhile
        return "recomputed"

    def sync(n: int) -> None:
        time.sleep(delays[n])
        with lock:
            committed[0] += 1
        settle_learning(c, ORG, stored=True, recompute=recompute, others_due=never)

    threads = [threading.Thread(target=sync, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen and seen[-1] == 16, seen
    assert len(seen) < 16, seen


def _job(id_: str, *, status: str = "PENDING", org: str = ORG, type_: str = "sync-analytics",
         next_at: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    now = datetime.now(UTC)
    return {
        "id": id_, "type": type_, "queue": "analytics-sync", "status": status, "organization_id": org,
        "payload": {}, "attempts": 0, "max_attempts": 3, "created_at": now, "updated_at": now,
        "next_attempt_at": next_at,
    }  # fmt: skip


def test_other_jobs_due_reads_pending_due_syncs_of_the_organisation(engine: Any) -> None:
    repo = AnalyticsRepository(engine)
    now = datetime.now(UTC)
    with engine.begin() as c:
        c.execute(insert(JOBS), [
            _job("me"), _job("running", status="RUNNING"), _job("later", next_at=now + timedelta(minutes=2)),
            _job("other-org", org="someone-else"), _job("other-type", type_="refresh-token"),
        ])  # fmt: skip
    assert not repo.other_jobs_due(ORG, "sync-analytics", "me", now)
    with engine.begin() as c:
        c.execute(insert(JOBS), [_job("due-retry", next_at=now - timedelta(seconds=1))])
    assert repo.other_jobs_due(ORG, "sync-analytics", "me", now)
    assert repo.other_jobs_due(ORG, "sync-analytics", "due-retry", now)  # "me" is due for it
