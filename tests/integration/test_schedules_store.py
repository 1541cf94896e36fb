"""ScheduleRepository on SQLite files and PostgreSQL: one outcome per tick, the fence, skips."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from jobctl.domain.errors import InvalidInputError
from jobctl.domain.records import NewJob
from jobctl.domain.schedules import ClaimResult, FiringOutcome, NewSchedule, firing_job_id
from jobctl.domain.status import JobStatus
from jobctl.store.jobs_repo import JobRepository
from jobctl.store.schedules_repo import ScheduleRepository

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def repo(engine: Engine) -> ScheduleRepository:
    return ScheduleRepository(engine)


def new_schedule(name: str = "hourly-ping", **kw: Any) -> NewSchedule:
    defaults: dict[str, Any] = {
        "job_type": "ping",
        "cron": "0 * * * *",
        "payload": {},
        "queue": "analytics-sync",
    }
    return NewSchedule(id=f"id{abs(hash(name)) % 10**8}", name=name, **{**defaults, **kw})


def claim(repo: ScheduleRepository, sid: str, at: datetime, **kw: Any) -> tuple[ClaimResult, str | None]:
    kw.setdefault("job_id", firing_job_id("ping", sid, at))
    kw.setdefault("token", 1)
    return repo.claim_tick(sid, at, now=at + timedelta(milliseconds=5), holder="test", **kw)


def test_insert_get_list_and_unique_names(repo: ScheduleRepository) -> None:
    rec = repo.insert(new_schedule(payload={"sleep_s": 1.5}), T0)
    assert rec.name == "hourly-ping" and rec.enabled and rec.active_since == T0 and rec.skip_count == 0
    assert rec.payload == {"sleep_s": 1.5} and rec.last_job_status is None
    with pytest.raises(InvalidInputError, match="already exists"):
        repo.insert(new_schedule(), T0)
    repo.insert(new_schedule("a-first"), T0)
    assert [r.name for r in repo.list()] == ["a-first", "hourly-ping"]
    assert repo.get_by_name("nope") is None


def test_one_outcome_per_tick_and_last_tick_advances(repo: ScheduleRepository, engine: Engine) -> None:
    sid = repo.insert(new_schedule(), T0).id
    tick = T0 + timedelta(hours=1)
    assert claim(repo, sid, tick) == (ClaimResult.CLAIMED, None)
    assert claim(repo, sid, tick)[0] == ClaimResult.DUPLICATE
    assert claim(repo, sid, T0 + timedelta(minutes=30))[0] == ClaimResult.DUPLICATE  # time never runs back
    rec = repo.get(sid)
    assert rec is not None and rec.last_tick_at == tick and rec.last_fired_at == tick
    assert rec.last_job_id == firing_job_id("ping", sid, tick)
    # the job row written by the producer path shows up as the last result
    JobRepository(engine).insert(
        NewJob(rec.last_job_id, "ping", "analytics-sync", None, {}, 4, scheduled_for=tick, schedule_id=sid),
        tick,
    )
    listed = repo.list()[0]
    assert listed.last_job_status == JobStatus.PENDING
    history = repo.history(sid)
    assert [(h.fire_time, h.outcome, h.job_status) for h in history] == [
        (tick, FiringOutcome.ENQUEUED, JobStatus.PENDING)
    ]


def test_the_fence_refuses_an_older_leader(repo: ScheduleRepository) -> None:
    sid = repo.insert(new_schedule(), T0).id
    assert claim(repo, sid, T0 + timedelta(hours=1), token=5)[0] == ClaimResult.CLAIMED
    # a leader paused past its lease comes back with token 4: nothing is written
    assert claim(repo, sid, T0 + timedelta(hours=2), token=4) == (ClaimResult.FENCED, None)
    assert repo.firing(sid, T0 + timedelta(hours=2)) is None
    rec = repo.get(sid)
    assert rec is not None and rec.last_tick_at == T0 + timedelta(hours=1)
    assert claim(repo, sid, T0 + timedelta(hours=2), token=6)[0] == ClaimResult.CLAIMED
    assert repo.fence_token() == 6


def test_skip_while_previous_job_is_active(repo: ScheduleRepository, engine: Engine) -> None:
    jobs = JobRepository(engine)
    sid = repo.insert(new_schedule(), T0).id
    first = T0 + timedelta(hours=1)
    claim(repo, sid, first)
    job_id = firing_job_id("ping", sid, first)
    jobs.insert(NewJob(job_id, "ping", "analytics-sync", None, {}, 4, schedule_id=sid), first)
    assert jobs.claim(job_id, "w1", first) == 1  # RUNNING
    result, reason = claim(repo, sid, first + timedelta(hours=1))
    assert result == ClaimResult.SKIPPED and reason == f"previous job {job_id} is still RUNNING"
    rec = repo.get(sid)
    assert rec is not None and rec.skip_count == 1 and rec.last_skipped_at == first + timedelta(hours=1)
    assert rec.last_job_id == job_id and rec.last_tick_at == first + timedelta(hours=1)
    assert jobs.complete(job_id, 1, {"pong": True}, first)
    assert claim(repo, sid, first + timedelta(hours=2))[0] == ClaimResult.CLAIMED
    outcomes = [(h.outcome, h.reason is not None) for h in repo.history(sid)]
    assert outcomes == [
        (FiringOutcome.ENQUEUED, False),
        (FiringOutcome.SKIPPED, True),
        (FiringOutcome.ENQUEUED, False),
    ]


def test_manual_trigger_dedupes_with_the_tick_of_the_same_second(repo: ScheduleRepository) -> None:
    sid = repo.insert(new_schedule(), T0).id
    at = T0 + timedelta(hours=1)
    assert claim(repo, sid, at, token=None, manual=True)[0] == ClaimResult.CLAIMED
    rec = repo.get(sid)
    assert rec is not None and rec.last_tick_at is None and rec.last_job_id is not None  # not the cron tick
    assert claim(repo, sid, at)[0] == ClaimResult.DUPLICATE  # the cron tick of that second
    rec = repo.get(sid)
    assert rec is not None and rec.last_tick_at == at  # ... is handled all the same


def test_pause_resume_and_delete(repo: ScheduleRepository) -> None:
    sid = repo.insert(new_schedule(), T0).id
    assert repo.set_enabled(sid, False, T0 + timedelta(minutes=1))
    assert claim(repo, sid, T0 + timedelta(hours=1))[0] == ClaimResult.INACTIVE
    assert claim(repo, sid, T0 + timedelta(hours=1), token=None, manual=True)[0] == ClaimResult.CLAIMED
    assert repo.set_enabled(sid, True, T0 + timedelta(hours=3))
    assert not repo.set_enabled(sid, True, T0 + timedelta(hours=4))  # already enabled: no reset
    rec = repo.get(sid)
    assert rec is not None and rec.enabled and rec.active_since == T0 + timedelta(hours=3)
    assert repo.delete(sid) and repo.get(sid) is None and repo.history(sid) == []
    assert claim(repo, sid, T0 + timedelta(hours=5))[0] == ClaimResult.INACTIVE


def test_orphan_firings_are_enqueued_ones_whose_job_was_not_written(repo: ScheduleRepository) -> None:
    sid = repo.insert(new_schedule(), T0).id
    a, b = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    claim(repo, sid, a)
    claim(repo, sid, b)
    claim(repo, sid, b + timedelta(hours=1), outcome=FiringOutcome.MISSED, job_id=None)
    repo.mark_written(sid, a)  # its job may be deleted later: it is not revived
    orphans = repo.orphan_firings(T0, b + timedelta(seconds=1))
    assert orphans == [(sid, b, firing_job_id("ping", sid, b))]
    assert repo.orphan_firings(T0, b - timedelta(seconds=1)) == []  # too recent to be settled


def test_concurrent_claims_record_each_tick_once(repo: ScheduleRepository) -> None:
    sid = repo.insert(new_schedule(cron="* * * * *"), T0).id
    ticks = [T0 + timedelta(minutes=i + 1) for i in range(15)]
    results: list[ClaimResult] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def run(token: int) -> None:
        barrier.wait()
        for tick in ticks:
            outcome, _ = claim(repo, sid, tick, token=token, outcome=FiringOutcome.MISSED, job_id=None)
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=run, args=(7,)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(ClaimResult.CLAIMED) == len(ticks)
    assert len(repo.history(sid, limit=100)) == len(ticks)
